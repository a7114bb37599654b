//! rtnetlink plumbing shared by the code that changes a network (the lab and the plan engine):
//! one connection per namespace ([`session`]) and typed look-ups on its messages ([`query`]).
pub mod query;
pub mod session;
