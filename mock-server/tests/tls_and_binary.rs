//! Serving https with a test certificate, and the `square-oauth-mock` binary.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use square_oauth_mock::MockSquare;

#[test]
fn serves_https_with_the_given_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let square = MockSquare::start(config().tls(&cert.cert.pem(), &cert.signing_key.serialize_pem())).unwrap();
    let base = square.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let root = ureq::tls::Certificate::from_der(cert.cert.der()).to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(
            ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root]))).build(),
        )
        .build()
        .into();
    let code = code_flow_code(&square, "PAYMENTS_READ");
    let body = serde_json::json!({"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "grant_type": "authorization_code"});
    let mut r = agent
        .post(format!("{base}/oauth2/token"))
        .header("content-type", "application/json")
        .send(body.to_string())
        .expect("a TLS exchange");
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_schema("ObtainTokenResponse", &v);
    // Plain http to the https port gets nowhere.
    let plain = common::agent().post(format!("http://{}/oauth2/token", square.addr())).send("{}");
    assert!(plain.is_err() || plain.unwrap().status().as_u16() >= 400);
}

#[test]
fn bad_tls_material_is_an_error_not_a_panic() {
    let e = MockSquare::start(config().tls("not a pem", "nor this")).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

// The binary exists only with the `cli` feature (a default one).
#[cfg(feature = "cli")]
#[test]
fn the_binary_prints_its_base_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_square-oauth-mock"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--app",
            &format!("{CLIENT_ID}:{SECRET}:{REDIRECT}"),
            "--app",
            &format!("{CLIENT_ID}:{SECRET}:{REDIRECT_2}"),
            "--seller",
            SELLER,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().to_owned();
    let result = std::panic::catch_unwind(|| {
        assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
        let page = get(&authorize_url(&base, &[("redirect_uri", REDIRECT_2), ("scope", "ITEMS_READ")]));
        assert_eq!(page.status, 200);
        assert!(page.body.contains("ITEMS_READ") && page.body.contains(SELLER));
        assert_eq!(status_of(&base, "EAAAx").status, 401);
    });
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
}

// The binary exists only with the `cli` feature (a default one).
#[cfg(feature = "cli")]
#[test]
fn the_binary_refuses_a_malformed_app() {
    let out = Command::new(env!("CARGO_BIN_EXE_square-oauth-mock"))
        .args(["--listen", "127.0.0.1:0", "--app", "only-an-id"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CLIENT_ID:SECRET:REDIRECT_URL"));
}

#[test]
fn dropping_the_handle_stops_the_server() {
    let square = start();
    let addr = square.addr();
    assert_eq!(status_of(&square.base_url(), "EAAAx").status, 401);
    square.shutdown();
    assert!(
        std::net::TcpStream::connect(addr).is_err() || {
            // A connection may still be accepted by the kernel backlog on some systems; nothing answers it.
            agent().post(format!("http://{addr}/oauth2/token/status")).send_empty().is_err()
        }
    );
}

#[test]
fn usable_from_inside_an_async_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let square = start();
        let code = code_flow_code(&square, "PAYMENTS_READ");
        let base = square.base_url();
        let a = tokio::task::spawn_blocking(move || exchange_code(&base, &code)).await.unwrap();
        token_ok(&a);
        square.advance(DAY);
        drop(square);
    });
}
