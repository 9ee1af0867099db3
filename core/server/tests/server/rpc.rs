//! The cluster RPC listener of `Server::start`: bound and reported by `rpc_addr`,
//! `rpc_advertise` overriding what clients are told, and a bind failure naming
//! `rpc_bind`.

use drover_server::{Server, StartError};
use tokio_util::sync::CancellationToken;

use crate::scheduling::{fast_config, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_reports_and_names_a_bad_rpc_bind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = start(fast_config(dir.path())).await;
    let addr = r.server.rpc_addr().to_owned();
    assert_ne!(addr, r.server.raft_addr(), "its own port");
    tokio::net::TcpStream::connect(&addr)
        .await
        .expect("the RPC port accepts connections");

    // A second server on the same RPC port fails before opening anything.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let mut c = fast_config(dir2.path());
    c.rpc_bind = addr.clone();
    match Server::start(c, CancellationToken::new()).await {
        Err(StartError::Config(m)) => {
            assert!(m.starts_with("rpc_bind:") && m.contains(&addr), "{m}")
        }
        Err(e) => panic!("expected a config error, got {e}"),
        Ok(_) => panic!("expected a bind failure on {addr}"),
    }
    r.stop().await;

    let dir3 = tempfile::tempdir().expect("tempdir");
    let mut c = fast_config(dir3.path());
    c.rpc_advertise = Some("10.1.2.3:4647".into());
    let r = start(c).await;
    assert_eq!(r.server.rpc_addr(), "10.1.2.3:4647");
    r.stop().await;

    let mut c = fast_config(dir3.path());
    c.rpc_advertise = Some(" ".into());
    assert!(matches!(
        Server::start(c, CancellationToken::new()).await,
        Err(StartError::Config(m)) if m.contains("rpc_advertise")
    ));
}
