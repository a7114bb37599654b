//! `netlens dns` asks the nameservers of a namespace, and a container runs its own: the server
//! is hostile. Whatever it answers, and however slowly, `dns` ends within its time cap.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::container::private_etc;
use common::world::{in_world, netlens_bin};

/// Answers every UDP query with the truncation bit set (glibc, and netlens, retry over TCP),
/// then over TCP announces a 65535-byte reply and sends it one byte every 200 ms: each read
/// gets a byte before its timeout, so a per-read timeout never fires.
fn dripping_server() {
    let udp = UdpSocket::bind("127.0.0.1:53").expect("bind udp/53");
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            if n < 12 {
                continue;
            }
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80 | 0x02; // QR, TC
            let _ = udp.send_to(&reply, from);
        }
    });
    let tcp = TcpListener::bind("127.0.0.1:53").expect("bind tcp/53");
    std::thread::spawn(move || {
        for conn in tcp.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut q = [0u8; 512];
                let _ = conn.read(&mut q);
                if conn.write_all(&[0xff, 0xff]).is_err() {
                    return;
                }
                loop {
                    std::thread::sleep(Duration::from_millis(200));
                    if conn.write_all(&[0]).is_err() {
                        return;
                    }
                }
            });
        }
    });
}

#[test]
fn a_server_that_drips_its_tcp_answer_cannot_stall_dns() {
    in_world(
        "dns_hostile_server::a_server_that_drips_its_tcp_answer_cannot_stall_dns",
        || {
            private_etc(&[
                (
                    "resolv.conf",
                    "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n",
                ),
                ("hosts", "127.0.0.1 localhost\n"),
                ("nsswitch.conf", "hosts: files dns\n"),
            ]);
            dripping_server();
            let mut child = Command::new(netlens_bin())
                .args(["dns", "victim.test.", "--type", "A", "--max-time", "3"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run netlens dns");
            let start = Instant::now();
            let status = loop {
                if let Some(s) = child.try_wait().unwrap() {
                    break s;
                }
                if start.elapsed() > Duration::from_secs(30) {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("netlens dns still waiting after 30 s on a dripping server (cap: 3 s)");
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "took {:?}",
                start.elapsed()
            );
            assert!(status.code().is_some(), "killed by a signal: {status:?}");
            assert!(out.contains("timeout") || out.contains("cap"), "{out}");
        },
    );
}
