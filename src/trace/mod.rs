//! Watching packets: live capture in any namespace (`capture`), decoding (`decode`), tcpdump-
//! like filters (`filter`) and the bounded ring that keeps memory flat (`ring`).
pub mod capture;
pub mod decode;
pub mod fib;
pub mod filter;
pub mod netfilter;
pub mod path;
pub mod ring;
