//! Watching packets and explaining their way: live capture in any namespace (`capture`,
//! `decode`, tcpdump-like `filter`, the bounded `ring`), the static path from the kernels'
//! route lookups and the iptables rules (`fib`, `netfilter`, `path`), and a real probe watched
//! along that path (`probe`, `live`).
pub mod capture;
pub mod decode;
#[cfg(test)]
mod decode_props;
pub mod fib;
pub mod filter;
pub mod live;
pub mod netfilter;
pub mod path;
pub mod probe;
pub mod ring;
