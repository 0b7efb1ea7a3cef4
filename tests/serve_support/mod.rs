//! Helpers the serve tests share: an HTTP client over real sockets (ureq), raw TCP for what a
//! client library will not send, and servers started in-process on a free loopback port.

#![allow(dead_code)]

use routesim::Catalog;
use routesim::serve::{Config, Server};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// An answer: status, headers (lower-case names), body text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("header {name} in {:?}", self.headers))
    }
}

/// A client that returns 4xx and 5xx answers instead of failing on them.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("the server answers");
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .expect("a text body");
    Reply {
        status: response.status().as_u16(),
        headers,
        body,
    }
}

pub fn post(agent: &ureq::Agent, url: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = agent.post(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    reply(request.content_type("application/json").send(body))
}

pub fn get(agent: &ureq::Agent, url: &str) -> Reply {
    reply(agent.get(url).call())
}

pub fn delete(agent: &ureq::Agent, url: &str) -> Reply {
    reply(agent.delete(url).call())
}

pub fn put(agent: &ureq::Agent, url: &str, body: &str) -> Reply {
    reply(agent.put(url).send(body))
}

/// Sends `bytes` on a fresh connection and reads until the server closes it (or 20 s pass).
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // The server may answer and close before taking every byte: a failed write is expected.
    let _ = stream.write_all(bytes);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub fn fixture(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

pub fn catalog(path: &str) -> Catalog {
    Catalog::from_paths(&[fixture(path)]).expect("the fixture loads")
}

/// A server on a free loopback port for the fixture catalog at `path`, set up by `tweak`.
pub fn start(path: &str, tweak: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config::new(catalog(path));
    tweak(&mut config);
    Server::start(config).expect("the server starts")
}

pub fn chat_url(server: &Server) -> String {
    format!("{}/chat/completions", server.api_base())
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
