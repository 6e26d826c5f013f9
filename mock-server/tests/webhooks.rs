//! Webhook subscriptions and the seller's own revocation: the signed `oauth.authorization.revoked`
//! event reaches a real loopback receiver, signed with the subscription's key, and only the
//! application's own subscriptions hear of it.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use hmac::Mac as _;
use serde_json::{Value, json};
use square_oauth_mock::{MockError, MockSquare};

/// One request as the receiver read it off the socket.
#[derive(Debug)]
struct Received {
    request_line: String,
    signature: Option<String>,
    body: Vec<u8>,
}

/// A webhook receiver on a real loopback socket: answers every request with `status` and hands
/// it over on the channel, until `until` has passed.
struct Receiver {
    url: String,
    got: mpsc::Receiver<Received>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start(path: &str, status: u16, until: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let (tx, got) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + until;
            while Instant::now() < deadline {
                let conn = match listener.accept() {
                    Ok((conn, _)) => conn,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let (mut signature, mut length) = (None, 0usize);
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').unwrap();
                    match name.to_ascii_lowercase().as_str() {
                        "x-square-hmacsha256-signature" => signature = Some(value.trim().to_owned()),
                        "content-length" => length = value.trim().parse().unwrap(),
                        _ => {}
                    }
                }
                let mut body = vec![0u8; length];
                reader.read_exact(&mut body).unwrap();
                let mut conn = conn;
                write!(conn, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
                let _ = tx.send(Received { request_line: request_line.trim_end().to_owned(), signature, body });
            }
        });
        Receiver { url, got, thread: Some(thread) }
    }

    /// Everything received so far, once the receiver has stopped listening.
    fn all(mut self) -> Vec<Received> {
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.got.try_iter().collect()
    }
}

fn expected_signature(key: &str, url: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn control(base: &str, path: &str, body: &Value) -> (u16, Value) {
    let answer = agent()
        .post(&format!("{base}{path}"))
        .header("content-type", "application/json")
        .send(body.to_string())
        .expect("the control request reaches the fake");
    let status = answer.status().as_u16();
    let text = answer.into_body().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

/// A code-flow grant for `merchant`: (access token, refresh token).
fn grant(square: &MockSquare, merchant: &str) -> (String, String) {
    let url = authorize_url(&square.base_url(), &[("scope", "PAYMENTS_READ")]);
    let code = param(&square.approve(&url, Some(merchant)).unwrap(), "code").unwrap();
    let v = token_ok(&exchange_code(&square.base_url(), &code));
    (v["access_token"].as_str().unwrap().to_owned(), v["refresh_token"].as_str().unwrap().to_owned())
}

#[test]
fn a_seller_revoking_the_app_sends_each_subscription_a_signed_event() {
    let square = MockSquare::start(config().control(true)).unwrap();
    let base = square.base_url();
    let (access, refresh_token) = grant(&square, SELLER);
    let (other_access, _) = grant(&square, SELLER_2);

    let ours = Receiver::start("/webhooks/square?source=1", 200, Duration::from_secs(3));
    let also_ours = Receiver::start("/second", 200, Duration::from_secs(3));
    let theirs = Receiver::start("/other-app", 200, Duration::from_secs(3));
    let key = "whsec-marketplace-key";
    for (client_id, url, key) in
        [(CLIENT_ID, &ours.url, key), (CLIENT_ID, &also_ours.url, "second-key"), (OTHER_CLIENT, &theirs.url, "k3")]
    {
        let (status, answer) = control(
            &base,
            "/__mock/webhook",
            &json!({"client_id": client_id, "notification_url": url, "signature_key": key}),
        );
        assert_eq!((status, &answer["notification_url"]), (200, &json!(url)), "{answer}");
    }

    // Days later on the fake's clock, which dates the event as it dates the revocation.
    square.advance(Duration::from_secs(10 * 86_400));
    let (status, notice) =
        control(&base, "/__mock/seller-revokes", &json!({"client_id": CLIENT_ID, "merchant_id": SELLER}));
    assert_eq!(status, 200, "{notice}");
    assert_eq!(notice["merchant_id"], SELLER);
    let mut delivered: Vec<(String, Option<u64>)> = notice["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["notification_url"].as_str().unwrap().to_owned(), d["status"].as_u64()))
        .collect();
    delivered.sort();
    let mut expected = vec![(ours.url.clone(), Some(200)), (also_ours.url.clone(), Some(200))];
    expected.sort();
    assert_eq!(delivered, expected, "answered once every subscription of the application had its event");

    let url = ours.url.clone();
    let received = ours.all();
    assert_eq!(received.len(), 1);
    let event = &received[0];
    assert_eq!(event.request_line, "POST /webhooks/square?source=1 HTTP/1.1");
    assert_eq!(event.signature.as_deref(), Some(expected_signature(key, &url, &event.body).as_str()));
    let body: Value = serde_json::from_slice(&event.body).unwrap();
    assert_schema("OauthAuthorizationRevokedEvent", &body);
    assert_eq!(body["type"], "oauth.authorization.revoked");
    assert_eq!(body["merchant_id"], SELLER);
    assert_eq!(body["event_id"], notice["event_id"]);
    assert_eq!(body["data"]["type"], "revocation");
    assert_eq!(body["data"]["object"]["revocation"]["revoker_type"], "MERCHANT");
    assert_eq!(body["created_at"], body["data"]["object"]["revocation"]["revoked_at"], "one instant, one clock");

    let second_url = also_ours.url.clone();
    let second = also_ours.all();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].body, event.body, "the same event to every subscription");
    assert_eq!(
        second[0].signature.as_deref(),
        Some(expected_signature("second-key", &second_url, &second[0].body).as_str()),
        "each signed with its own key and URL"
    );
    assert!(theirs.all().is_empty(), "another application's subscription hears nothing");

    // The seller's tokens of this application are dead; the other seller's live on.
    assert_error(&status_of(&base, &access), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert_error(&refresh(&base, &refresh_token, Some(SECRET)), 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert_eq!(status_of(&base, &other_access).status, 200);
}

#[test]
fn the_handle_reports_each_receivers_answer_and_a_failed_delivery() {
    let square = start();
    grant(&square, SELLER);
    let refusing = Receiver::start("/hook", 401, Duration::from_secs(3));
    square.subscribe_webhook(CLIENT_ID, &refusing.url, "key-1").unwrap();
    // Nothing listens here: the delivery fails, the revocation stands.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/gone", listener.local_addr().unwrap())
    };
    square.subscribe_webhook(CLIENT_ID, &closed, "key-2").unwrap();

    let notice = square.seller_revokes(CLIENT_ID, SELLER).unwrap();
    assert_eq!(notice.merchant_id, SELLER);
    assert_eq!(notice.deliveries.len(), 2);
    let answered = notice.deliveries.iter().find(|d| d.notification_url == refusing.url).unwrap();
    assert_eq!(answered.outcome, Ok(401));
    let failed = notice.deliveries.iter().find(|d| d.notification_url == closed).unwrap();
    assert!(failed.outcome.is_err(), "{failed:?}");
    assert_eq!(refusing.all().len(), 1);

    // Revoking again: nothing live is left, but the seller did authorize once, so the event is
    // sent again (Square may deliver twice; receivers deduplicate on event_id).
    let again = square.seller_revokes(CLIENT_ID, SELLER).unwrap();
    assert_ne!(again.event_id, notice.event_id);
}

#[test]
fn bad_subscriptions_and_unknown_sellers_are_refused() {
    let square = MockSquare::start(config().control(true)).unwrap();
    let base = square.base_url();
    assert_eq!(
        square.subscribe_webhook("sq0idp-Nobody", "http://127.0.0.1:9/h", "k"),
        Err(MockError::UnknownClient("sq0idp-Nobody".to_owned()))
    );
    for url in ["https://127.0.0.1:9/h", "not a url", "http:///h"] {
        assert!(
            matches!(square.subscribe_webhook(CLIENT_ID, url, "k"), Err(MockError::InvalidSubscription(_))),
            "{url}"
        );
    }
    assert!(matches!(
        square.subscribe_webhook(CLIENT_ID, "http://127.0.0.1:9/h", ""),
        Err(MockError::InvalidSubscription(_))
    ));
    let (status, answer) = control(&base, "/__mock/webhook", &json!({"client_id": CLIENT_ID, "notification_url": 7}));
    assert_eq!(status, 400, "{answer}");

    assert_eq!(
        square.seller_revokes(CLIENT_ID, SELLER_2),
        Err(MockError::NotAuthorized { client_id: CLIENT_ID.to_owned(), merchant_id: SELLER_2.to_owned() })
    );
    let (status, answer) =
        control(&base, "/__mock/seller-revokes", &json!({"client_id": CLIENT_ID, "merchant_id": SELLER_2}));
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("has not authorized"), "{answer}");
    let (status, _) = control(&base, "/__mock/seller-revokes", &json!({"client_id": CLIENT_ID}));
    assert_eq!(status, 400);
    let get = agent().get(&format!("{base}/__mock/seller-revokes")).call().unwrap();
    assert_eq!(get.status().as_u16(), 405);
}
