//! One HTTP/1.1 exchange per request on a fresh TCP connection (hyper's connection
//! API): a CLI run makes a few requests, so pooling buys nothing. Each connection is
//! driven by a small task that ends with its response; [`Client::stream`] hands the
//! body over as it arrives (followed logs), every other call reads it whole under a
//! timeout.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;

use super::{ApiError, Config, escape};

/// How long to wait for the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a whole (non-blocking) request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An open WebSocket to the agent.
pub type WebSocket = tokio_tungstenite::WebSocketStream<TcpStream>;

/// A client for one agent address.
#[derive(Debug, Clone)]
pub struct Client {
    config: Config,
    /// `host:port` to dial, also the `Host` header.
    authority: String,
}

impl Client {
    /// The same settings, for the agent at `host_port` (a node's `HTTPAddr`).
    pub fn for_agent(&self, host_port: &str) -> Result<Client, ApiError> {
        let mut config = self.config.clone();
        config.address = format!("http://{host_port}");
        Client::new(config)
    }

    /// Check the address (`http://host[:port]`, port 4646 by default).
    pub fn new(config: Config) -> Result<Client, ApiError> {
        let bad = |reason| ApiError::Address {
            address: config.address.clone(),
            reason,
        };
        let rest = if let Some(rest) = config.address.strip_prefix("http://") {
            rest
        } else if config.address.starts_with("https://") {
            return Err(bad("https is not supported yet; use http://"));
        } else if config.address.contains("://") {
            return Err(bad("expected an http:// address"));
        } else {
            config.address.as_str()
        };
        let host_port = rest.split('/').next().unwrap_or_default();
        if host_port.is_empty() {
            return Err(bad("missing the host"));
        }
        let has_port = match host_port.rsplit_once(':') {
            Some((_, port)) if !host_port.ends_with(']') => {
                port.parse::<u16>().map_err(|_| bad("invalid port"))?;
                true
            }
            _ => false,
        };
        let authority = if has_port {
            host_port.to_string()
        } else {
            format!("{host_port}:4646")
        };
        Ok(Client { config, authority })
    }

    /// The namespace requests are scoped to (`default` when unset).
    pub fn namespace(&self) -> &str {
        self.config.namespace.as_deref().unwrap_or("default")
    }

    /// Whether `-namespace`/`NOMAD_NAMESPACE` was given.
    pub fn namespace_is_set(&self) -> bool {
        self.config.namespace.is_some()
    }

    /// Scope later requests to `ns` (a job file's namespace wins over the flag).
    pub fn set_namespace(&mut self, ns: &str) {
        self.config.namespace = Some(ns.to_string());
    }

    /// Scope later requests to `region`.
    pub fn set_region(&mut self, region: &str) {
        self.config.region = Some(region.to_string());
    }

    /// GET `path` with `query` pairs (plus region/namespace) and decode the JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let body = self.send(Method::GET, path, query, None).await?;
        decode(path, &body)
    }

    /// Send `body` as JSON with `method` and decode the JSON answer.
    pub async fn write<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let bytes = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| ApiError::Http {
                method: method.to_string(),
                path: path.to_string(),
                reason: format!("cannot encode the request: {e}"),
            })?),
            None => None,
        };
        let answer = self.send(method, path, query, bytes).await?;
        decode(path, &answer)
    }

    /// The raw exchange: non-2xx answers become [`ApiError::Status`]; the whole
    /// exchange is bounded by [`REQUEST_TIMEOUT`].
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, ApiError> {
        let started = tokio::time::Instant::now();
        let method_text = method.to_string();
        let incoming = self.open(method, path, query, body).await?;
        tokio::time::timeout_at(started + REQUEST_TIMEOUT, incoming.collect())
            .await
            .map_err(|_| format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()))
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map(|b| b.to_bytes())
            .map_err(|reason| ApiError::Http {
                method: method_text,
                path: path.to_string(),
                reason,
            })
    }

    /// Sends a body-less request and returns the answer's body as it arrives, for
    /// streams that last (followed logs): only the wait for the headers is bounded.
    /// Non-2xx answers become [`ApiError::Status`].
    pub async fn stream(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Incoming, ApiError> {
        self.open(method, path, query, None).await
    }

    /// Opens a WebSocket on `path` (`alloc exec`). A refused upgrade becomes
    /// [`ApiError::Status`] with the agent's message, as any other request's.
    pub async fn websocket(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<WebSocket, ApiError> {
        use tokio_tungstenite::tungstenite::Error as WsError;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let http_err = |reason: String| ApiError::Http {
            method: "GET".into(),
            path: path.to_string(),
            reason,
        };
        let url = format!("ws://{}{}", self.authority, self.uri(path, query));
        let mut req = url
            .into_client_request()
            .map_err(|e| http_err(e.to_string()))?;
        if let Some(token) = &self.config.token
            && let Ok(v) = token.parse()
        {
            req.headers_mut().insert("X-Nomad-Token", v);
        }
        let stream = self.tcp().await?;
        let handshake = tokio_tungstenite::client_async(req, stream);
        match tokio::time::timeout(REQUEST_TIMEOUT, handshake).await {
            Err(_) => Err(http_err(format!(
                "no answer within {}s",
                REQUEST_TIMEOUT.as_secs()
            ))),
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(WsError::Http(resp))) => Err(status_error(
                resp.status(),
                resp.body().as_deref().unwrap_or_default(),
            )),
            Ok(Err(e)) => Err(http_err(e.to_string())),
        }
    }

    /// Sends a request; the answer's body once its headers came within
    /// [`REQUEST_TIMEOUT`]. Non-2xx answers become [`ApiError::Status`].
    async fn open(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Incoming, ApiError> {
        let http_err = |reason: String| ApiError::Http {
            method: method.to_string(),
            path: path.to_string(),
            reason,
        };
        let mut sender = self.connect(&http_err).await?;
        let req = self
            .request(&method, path, query, body)
            .map_err(|e| http_err(e.to_string()))?;
        let resp = tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(req))
            .await
            .map_err(|_| http_err(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())))?
            .map_err(|e| http_err(e.to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp.into_body());
        }
        let body = tokio::time::timeout(REQUEST_TIMEOUT, resp.into_body().collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Err(status_error(status, &body))
    }

    /// A connection to the agent, driven by a background task that ends with it.
    async fn connect(
        &self,
        http_err: &dyn Fn(String) -> ApiError,
    ) -> Result<SendRequest<Full<Bytes>>, ApiError> {
        let stream = self.tcp().await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http_err(e.to_string()))?;
        // Ends when the response is read or dropped; errors surface through the body.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// A TCP connection to the agent, within [`CONNECT_TIMEOUT`].
    async fn tcp(&self) -> Result<TcpStream, ApiError> {
        let connect = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.authority));
        match connect.await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                Ok(s)
            }
            Ok(Err(e)) => Err(ApiError::Connect {
                address: self.config.address.clone(),
                reason: e.to_string(),
            }),
            Err(_) => Err(ApiError::Connect {
                address: self.config.address.clone(),
                reason: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            }),
        }
    }

    /// The request with Host, User-Agent, token and content type.
    fn request(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(self.uri(path, query))
            .header(header::HOST, &self.authority)
            .header(
                header::USER_AGENT,
                concat!("drover/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = &self.config.token {
            req = req.header("X-Nomad-Token", token);
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        req.body(Full::new(Bytes::from(body.unwrap_or_default())))
    }

    fn uri(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = query.to_vec();
        if let Some(r) = &self.config.region {
            pairs.push(("region", r));
        }
        if let Some(ns) = &self.config.namespace {
            pairs.push(("namespace", ns));
        }
        let mut uri = path.to_string();
        for (i, (k, v)) in pairs.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(&escape(k));
            uri.push('=');
            uri.push_str(&escape(v));
        }
        uri
    }
}

fn status_error(status: StatusCode, body: &[u8]) -> ApiError {
    ApiError::Status {
        code: status.as_u16(),
        body: String::from_utf8_lossy(body).trim().to_string(),
    }
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| ApiError::Decode {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(address: &str) -> Config {
        Config {
            address: address.into(),
            region: None,
            namespace: None,
            token: None,
        }
    }

    #[test]
    fn parses_addresses() {
        assert_eq!(
            Client::new(cfg("http://127.0.0.1:4646")).unwrap().authority,
            "127.0.0.1:4646"
        );
        assert_eq!(
            Client::new(cfg("http://agent")).unwrap().authority,
            "agent:4646"
        );
        assert_eq!(
            Client::new(cfg("localhost:80/")).unwrap().authority,
            "localhost:80"
        );
        assert!(Client::new(cfg("https://x")).is_err());
        assert!(Client::new(cfg("http://x:port")).is_err());
        assert!(Client::new(cfg("http://")).is_err());
    }

    #[test]
    fn query_carries_region_and_namespace() {
        let mut c = Client::new(cfg("http://a")).unwrap();
        c.set_namespace("prod");
        c.set_region("eu");
        assert_eq!(
            c.uri("/v1/job/a%2Fb", &[("purge", "true")]),
            "/v1/job/a%2Fb?purge=true&region=eu&namespace=prod"
        );
        assert_eq!(c.namespace(), "prod");
    }

    #[tokio::test]
    async fn connection_refused_names_the_address() {
        // Bind then drop a listener so the port is (very likely) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let c = Client::new(cfg(&format!("http://127.0.0.1:{port}"))).unwrap();
        let err = c
            .get::<serde_json::Value>("/v1/jobs", &[])
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ApiError::Connect { .. }), "{text}");
        assert!(text.contains(&format!("http://127.0.0.1:{port}")), "{text}");
        assert!(text.contains("drover agent -dev"), "{text}");
    }
}
