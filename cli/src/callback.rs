//! The loopback listener that receives the seller's browser after the authorize page.
//!
//! A deliberately tiny HTTP/1.1 server: it reads one request head, answers with a short page
//! and closes the connection. It listens on `127.0.0.1` (and `::1` when the machine has it,
//! since browsers may resolve `localhost` to either), only ever hands back a `GET` of the
//! callback path, and answers anything else (a `favicon.ico`, a port scanner) with 404.

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The path the redirect URL points at.
pub(crate) const CALLBACK_PATH: &str = "/callback";

/// The largest request head read from the browser.
const MAX_HEAD_BYTES: u64 = 16 * 1024;

/// How often the listeners are polled (and the spinner moves).
const POLL: Duration = Duration::from_millis(80);

/// Listens for the redirect on `http://localhost:PORT/callback`.
#[derive(Debug)]
pub(crate) struct CallbackServer {
    listeners: Vec<TcpListener>,
    port: u16,
}

/// A browser request for the callback path, waiting for its answer.
#[derive(Debug)]
pub(crate) struct Callback {
    stream: TcpStream,
    /// The request target, `/callback?code=…&state=…`.
    pub(crate) target: String,
}

/// Why no callback came.
#[derive(Debug)]
pub(crate) enum WaitError {
    /// The deadline passed.
    TimedOut,
    /// The listener itself failed.
    Io(io::Error),
}

impl CallbackServer {
    /// Binds `127.0.0.1:port`, and `[::1]:port` if possible (`port` 0: any free port).
    pub(crate) fn bind(port: u16) -> io::Result<Self> {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
        let port = v4.local_addr()?.port();
        v4.set_nonblocking(true)?;
        let mut listeners = vec![v4];
        if let Ok(v6) = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
            && v6.set_nonblocking(true).is_ok()
        {
            listeners.push(v6);
        }
        Ok(Self { listeners, port })
    }

    /// The redirect URL to register with Square and send in the authorize URL.
    pub(crate) fn redirect_url(&self) -> String {
        format!("http://localhost:{}{CALLBACK_PATH}", self.port)
    }

    /// Waits until `deadline` for a `GET` of the callback path, calling `tick` with the time
    /// left at every poll.
    pub(crate) fn wait(&self, deadline: Instant, mut tick: impl FnMut(Duration)) -> Result<Callback, WaitError> {
        loop {
            for listener in &self.listeners {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(callback) = read_request(stream) {
                            return Ok(callback);
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(WaitError::Io(error)),
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(WaitError::TimedOut);
            }
            tick(deadline - now);
            std::thread::sleep(POLL.min(deadline - now));
        }
    }
}

impl Callback {
    /// The query string of the callback (after `?`), empty if none.
    pub(crate) fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, query)| query)
    }

    /// Answers the browser with a small HTML page and closes the connection.
    pub(crate) fn respond(mut self, status: u16, title: &str, message: &str) {
        let body = page(title, message);
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            _ => "Error",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = self.stream.write_all(head.as_bytes());
        let _ = self.stream.write_all(body.as_bytes());
        let _ = self.stream.flush();
    }
}

/// Reads one request head; hands back a `GET` of the callback path, answers anything else.
fn read_request(stream: TcpStream) -> Option<Callback> {
    // Accepted sockets may inherit non-blocking mode; the read below wants a bounded block.
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?).take(MAX_HEAD_BYTES);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    // The rest of the head: read until the blank line, so the browser sees a clean answer.
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let mut stream = stream;
    if method == "GET" && path == CALLBACK_PATH {
        return Some(Callback { stream, target: target.to_owned() });
    }
    let body = page("Not found", "This address only serves the OAuth callback.");
    let _ = write!(
        stream,
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    None
}

fn page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>square-oauth: {title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{message}</p></body></html>\n"
    )
}
