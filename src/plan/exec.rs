//! The engine that runs steps: a netlink connection per namespace ([`Session`]) and what the
//! steps of one plan share. What each step does is its family's, in [`super::steps`];
//! [`Engine::execute`] only changes things: what to check first and what the inverse is, is
//! [`Engine::prepare`]'s job, done just before.

use std::future::Future;

use rtnetlink::Handle;

use super::step::Step;
use super::steps::{self, Prepared, StepError};
use crate::netlink::session::Session;

/// What the engine needs across the steps of one plan: a netlink connection per namespace and
/// the label written into persisted sysctl files.
pub struct Engine {
    session: Session,
    pub label: String,
    /// Namespaces named in the plan: the first candidates when looking for a veth's peer.
    pub plan_namespaces: Vec<String>,
}

impl Engine {
    pub fn new(label: String, plan_namespaces: Vec<String>) -> Result<Engine, String> {
        Ok(Engine {
            session: Session::new()?,
            label,
            plan_namespaces,
        })
    }

    pub fn handle(&mut self, ns: &str) -> Result<Handle, String> {
        self.session.handle(ns)
    }

    /// Forgets the connection to a namespace that a step deleted or created anew, so a later
    /// step in the same plan opens one to the namespace now under that name, not the old one.
    pub fn forget_ns(&mut self, ns: &str) {
        self.session.drop_ns(ns);
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.session.rt.block_on(f)
    }

    /// Reads the state `step` changes and returns its inverse, or why it cannot run.
    pub fn prepare(&mut self, step: &Step) -> Result<Prepared, StepError> {
        steps::prepare(self, step)
    }

    /// Runs `step`. Returns a refined inverse when only the change itself reveals it (the
    /// position an iptables rule was deleted from, the handle nft gave a rule).
    pub fn execute(&mut self, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        steps::execute(self, step)
    }
}
