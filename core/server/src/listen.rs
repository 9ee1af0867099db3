//! [`listen`]: a TCP listener with a deep accept queue.
//!
//! `tokio::net::TcpListener::bind` listens with a backlog of 128, as the standard
//! library does. A burst of new connections beyond that (a few hundred API clients or
//! nodes connecting at once) overflows the queue; the kernel drops the SYNs and each
//! of those clients waits a full second for its retransmit. Go servers listen with
//! the kernel's `somaxconn`; so do ours: the kernel caps the requested backlog there.

use std::io;

use tokio::net::{TcpListener, TcpSocket};

/// The accept queue requested; the kernel caps it at `net.core.somaxconn`.
pub const BACKLOG: u32 = 4096;

/// Binds `addr` (`host:port`; a name is resolved and its addresses tried in order)
/// with `SO_REUSEADDR` and a [`BACKLOG`]-deep accept queue.
pub async fn listen(addr: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(BACKLOG)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr} resolves to no address"),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_names_and_addresses_and_reports_a_taken_port() {
        let l = listen("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let again = listen(&format!("127.0.0.1:{port}")).await.unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AddrInUse, "{again}");
        let named = listen("localhost:0").await.unwrap();
        assert!(named.local_addr().unwrap().ip().is_loopback());
        assert!(listen("no-such-host.invalid:1").await.is_err());
    }

    #[tokio::test]
    async fn a_burst_of_connections_is_queued_not_dropped() {
        // More than the default backlog of 128 connect before any is accepted.
        let cap = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        if cap.is_some_and(|c| c < 300) {
            eprintln!("skipped: net.core.somaxconn is {cap:?}, below the 300 this test queues");
            return;
        }
        let l = listen("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let mut conns = Vec::new();
        for _ in 0..300 {
            conns.push(
                tokio::time::timeout(
                    std::time::Duration::from_millis(500),
                    tokio::net::TcpStream::connect(addr),
                )
                .await
                .expect("connect within 500 ms (a dropped SYN waits a second)")
                .unwrap(),
            );
        }
        assert_eq!(conns.len(), 300);
    }
}
