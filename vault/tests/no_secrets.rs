//! No token in any event the vault emits through `tracing`, nor in any `Debug` or error text:
//! every field of every event is recorded while sellers are granted, refreshed, fail, are
//! revoked and re-sealed, and searched for every token issued.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use square_oauth::{Flow, ObtainToken};
use square_oauth_vault::{Begin, Key, Keyring, SqliteStore, Vault};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records the text of every field of every event and span.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = String::new();
        span.record(&mut Fields(&mut text));
        self.0.lock().unwrap().push(text);
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut text = String::new();
        values.record(&mut Fields(&mut text));
        self.0.lock().unwrap().push(text);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = event.metadata().name().to_owned();
        event.record(&mut Fields(&mut text));
        self.0.lock().unwrap().push(text);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn no_event_debug_or_error_text_carries_a_token() {
    let square = fake();
    let dir = Dir::new("no-secrets", false);
    let recorder = Recorder::default();
    let mut texts = Vec::new();
    let mut issued = Vec::new();
    tracing::subscriber::with_default(recorder.clone(), || {
        let vault = vault(&dir);
        let mut sellers = grant(&square, &vault, 2, Flow::Pkce);
        sellers.extend(grant(&square, &vault, 2, Flow::CodeFlow));
        let client = client(&square);
        for merchant in &sellers {
            let tokens = vault.tokens(merchant).unwrap();
            issued.push(tokens.access_token().expose_secret().to_owned());
            issued.extend(tokens.refresh_token().map(|t| t.expose_secret().to_owned()));
            let Begin::Send(flight) = vault.begin_refresh(merchant, true).unwrap() else { panic!() };
            texts.push(format!("{flight:?}"));
            let answer = sender(&client)(flight.operation());
            let outcome = vault.finish_refresh(flight, answer).unwrap();
            texts.push(format!("{outcome:?}"));
            let tokens = vault.tokens(merchant).unwrap();
            issued.push(tokens.access_token().expose_secret().to_owned());
            issued.extend(tokens.refresh_token().map(|t| t.expose_secret().to_owned()));
        }
        // Failures: a refused spent token (replayed by hand), an unreachable Square.
        let spent = ObtainToken::pkce_refresh(
            square_oauth::ClientId::new(CLIENT_ID),
            square_oauth::RefreshToken::new(&issued[1]),
        );
        let refused = sender(&client)(&spent).unwrap_err();
        texts.push(format!("{refused:?} {refused}"));
        let nowhere = square_oauth_ureq::Client::new(square_oauth::Config::custom("http://127.0.0.1:9").unwrap());
        let outcome = vault.refresh(&sellers[2], true, &mut sender(&nowhere)).unwrap();
        texts.push(format!("{outcome:?}"));
        let rotated = Vault::new(
            SqliteStore::open(&dir.db()).unwrap(),
            Keyring::new(Key::generate()).with_older(Key::from_file(&dir.key_file()).unwrap()),
            settings(),
        );
        rotated.rotate_key().unwrap();
        texts.push(format!("{rotated:?} {:?}", rotated.settings()));
        texts.push(format!("{:?}", vault.sellers().unwrap()));
    });
    let events = recorder.0.lock().unwrap().clone();
    assert!(events.iter().any(|e| e.contains("refresh stored")), "events were recorded: {events:?}");
    assert!(events.iter().any(|e| e.contains("merchant_id=")));
    for token in &issued {
        assert!(
            !events.iter().chain(&texts).any(|text| text.contains(token.as_str())),
            "a token in: {events:?} {texts:?}"
        );
    }
    assert!(!texts.iter().chain(&events).any(|text| text.contains(SECRET)));
}
