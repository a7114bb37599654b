//! The real [`Kernel`]: each namespace opened once, asked with RTM_GETROUTE.

use super::Kernel;
use crate::trace::fib::{Answer, Query, Refusal};

/// The kernels of the live host's namespaces, each opened once.
#[derive(Default)]
pub struct LiveKernel {
    open: std::cell::RefCell<std::collections::HashMap<String, std::fs::File>>,
}

impl LiveKernel {
    fn file(&self, ns: &str) -> Result<std::fs::File, String> {
        if let Some(f) = self.open.borrow().get(ns) {
            return f.try_clone().map_err(|e| e.to_string());
        }
        let f = match crate::netns::resolve::open_ns(ns) {
            Ok(f) => f,
            // Discovery falls back to our own namespace when PID 1's cannot be opened.
            Err(_) if ns == "host" => std::fs::File::open("/proc/thread-self/ns/net")
                .map_err(|e| format!("cannot open the host namespace: {e}"))?,
            Err(e) => return Err(e.to_string()),
        };
        let dup = f.try_clone().map_err(|e| e.to_string())?;
        self.open.borrow_mut().insert(ns.to_string(), f);
        Ok(dup)
    }
}

impl Kernel for LiveKernel {
    fn route(&self, ns: &str, q: &Query) -> Result<Answer, Refusal> {
        let f = self.file(ns).map_err(Refusal::Other)?;
        match crate::trace::fib::route_get(&f, ns, q) {
            Ok(r) => r,
            Err(e) => Err(Refusal::Other(e.to_string())),
        }
    }
}
