//! Netlink connections, one per namespace, on a private current-thread runtime.
//!
//! Each socket is created on a throwaway thread that entered the namespace
//! (`run_in_netns_file`) and is then driven from the session's own runtime: a netlink socket
//! stays bound to the namespace it was created in, and no thread we keep ever calls `setns`.

use std::collections::HashMap;
use std::fs::File;

use rtnetlink::Handle;
use tokio::runtime::Runtime;

use crate::netns::enter::run_in_netns_file;
use crate::netns::resolve::open_ns;

pub struct Session {
    pub rt: Runtime,
    handles: HashMap<String, Handle>,
}

impl Session {
    pub fn new() -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
        Ok(Session {
            rt,
            handles: HashMap::new(),
        })
    }

    /// Opens namespace `ns` by the name a snapshot gives it (`host`, a `/run/netns` name,
    /// `pid:N`, `docker:NAME`).
    pub fn open_ns(ns: &str) -> Result<File, String> {
        open_ns(ns).map_err(|e| e.to_string())
    }

    /// The connection for namespace `ns`, opened on first use.
    pub fn handle(&mut self, ns: &str) -> Result<Handle, String> {
        if let Some(handle) = self.handles.get(ns) {
            return Ok(handle.clone());
        }
        let file = Self::open_ns(ns)?;
        let rt = self.rt.handle().clone();
        let (connection, handle, _) = run_in_netns_file(&file, ns, move || {
            // The socket is registered with the runtime's reactor, so create it in its context.
            let _guard = rt.enter();
            rtnetlink::new_connection()
        })
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open a netlink socket in namespace {ns}: {e}"))?;
        self.rt.spawn(connection);
        self.handles.insert(ns.to_string(), handle.clone());
        Ok(handle)
    }

    /// Forgets the connection of a deleted namespace (the socket would keep it alive).
    pub fn drop_ns(&mut self, ns: &str) {
        self.handles.remove(ns);
    }
}
