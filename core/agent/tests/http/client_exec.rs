//! `GET /v1/client/allocation/:id/exec` with a real WebSocket client (tokio-tungstenite)
//! against the fake client of `client.rs`: frames both ways, the final `exited` frame
//! and normal close, HTTP errors before the upgrade, close frames after it.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::client::{ALLOC, Fixture};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn exec_url(f: &Fixture, alloc: &str, query: &str) -> String {
    f.server
        .url(&format!("/v1/client/allocation/{alloc}/exec?{query}"))
        .replacen("http://", "ws://", 1)
}

const QUERY: &str = "task=web&command=%5B%22sh%22%2C%22-i%22%5D&tty=true";

async fn connect(url: &str) -> Result<Ws, WsError> {
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .expect("handshake within 10 s")
    .map(|(ws, _)| ws)
}

/// The HTTP status a refused handshake got.
async fn refused(url: &str) -> (u16, String) {
    match connect(url).await {
        Err(WsError::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            (resp.status().as_u16(), body)
        }
        Err(e) => panic!("expected an HTTP error, got {e}"),
        Ok(_) => panic!("expected an HTTP error, the upgrade succeeded"),
    }
}

/// Reads until the close frame: the JSON frames, then the close code and reason.
async fn read_all(ws: &mut Ws) -> (Vec<Value>, Option<(CloseCode, String)>) {
    let mut frames = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s");
        match msg {
            Some(Ok(Message::Text(t))) => frames.push(serde_json::from_str(&t).expect("JSON")),
            Some(Ok(Message::Close(c))) => {
                return (frames, c.map(|c| (c.code, c.reason.to_string())));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("websocket error: {e}"),
            None => return (frames, None),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

#[tokio::test]
async fn a_session_carries_stdin_sizes_output_and_the_exit_code() {
    let f = Fixture::start().await;
    let mut ws = connect(&exec_url(&f, ALLOC, QUERY)).await.expect("upgrade");
    send(&mut ws, json!({"tty_size": {"height": 24, "width": 80}})).await;
    send(&mut ws, json!({"stdin": {"data": B64.encode("hi\n")}})).await;
    send(&mut ws, json!({"stdin": {"close": true}})).await;
    let (frames, close) = read_all(&mut ws).await;
    assert_eq!(
        frames,
        vec![
            json!({"stdout": {"data": B64.encode("size 24x80\n")}}),
            json!({"stdout": {"data": B64.encode("hi\n")}}),
            json!({"stderr": {"data": B64.encode("bye")}}),
            json!({"exited": true, "result": {"exit_code": 7}}),
        ]
    );
    assert_eq!(close.map(|c| c.0), Some(CloseCode::Normal));
    assert_eq!(
        f.fake.calls(),
        vec![format!("exec {ALLOC} web [\"sh\", \"-i\"] tty=true")]
    );
    f.server.stop().await;
}

#[tokio::test]
async fn errors_before_the_upgrade_are_http_answers() {
    let f = Fixture::start().await;
    let (code, body) = refused(&exec_url(&f, ALLOC, "command=%5B%22ls%22%5D")).await;
    assert_eq!((code, body.contains("missing task")), (400, true), "{body}");
    let (code, body) = refused(&exec_url(&f, ALLOC, "task=web")).await;
    assert_eq!(
        (code, body.contains("missing command")),
        (400, true),
        "{body}"
    );
    let (code, body) = refused(&exec_url(&f, ALLOC, "task=web&command=ls")).await;
    assert_eq!((code, body.contains("JSON array")), (400, true), "{body}");
    let other = "0b2f8a0e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
    let (code, _) = refused(&exec_url(&f, other, QUERY)).await;
    assert_eq!(code, 404);
    let (code, body) = refused(&exec_url(&f, ALLOC, "task=db&command=%5B%22ls%22%5D")).await;
    assert_eq!((code, body.contains("unknown task")), (404, true), "{body}");

    // A plain GET must not start anything.
    let reply = f
        .server
        .get(&format!("/v1/client/allocation/{ALLOC}/exec?{QUERY}"))
        .await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.text());
    assert!(reply.text().contains("WebSocket"), "{}", reply.text());
    assert!(f.fake.calls().is_empty(), "{:?}", f.fake.calls());
    f.server.stop().await;
}

#[tokio::test]
async fn errors_after_the_upgrade_are_close_frames() {
    let f = Fixture::start().await;
    let mut ws = connect(&exec_url(&f, ALLOC, QUERY)).await.expect("upgrade");
    send(&mut ws, json!({"stdin": {"data": "not base64!"}})).await;
    let (_, close) = read_all(&mut ws).await;
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("stdin.data"), "{reason}");

    let failing = "task=web&command=%5B%22fail%22%5D";
    let mut ws = connect(&exec_url(&f, ALLOC, failing))
        .await
        .expect("upgrade");
    send(&mut ws, json!({"stdin": {"close": true}})).await;
    let (frames, close) = read_all(&mut ws).await;
    assert!(frames.is_empty(), "{frames:?}");
    let (code, reason) = close.expect("a close frame");
    assert_eq!(
        (code, reason.as_str()),
        (CloseCode::Error, "the driver failed")
    );
    f.server.stop().await;
}
