//! Square's webhook notifications: checking the signature, and reading
//! `oauth.authorization.revoked`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{InvalidInput, Problem};
use crate::ids::MerchantId;
use crate::open_enum::open_enum;
use crate::secret::{WebhookSignatureKey, constant_time_eq};

/// The header that carries Square's HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-square-hmacsha256-signature";

/// The event type of a revocation notification.
pub const AUTHORIZATION_REVOKED: &str = "oauth.authorization.revoked";

/// Why a webhook notification was refused.
///
/// No variant carries the key, the expected signature or the body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature key passed is unusable (empty); nothing was checked.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InvalidInput),
    /// The request has no `x-square-hmacsha256-signature` header.
    #[error("the notification has no `x-square-hmacsha256-signature` header")]
    MissingSignature,
    /// The header is repeated, not text, or not base64 of 32 bytes.
    #[error("the `x-square-hmacsha256-signature` header is not a base64 HMAC-SHA256")]
    MalformedSignature,
    /// The signature does not match: a different key, URL or body, or a forgery.
    #[error("the webhook signature does not match the notification URL and body")]
    SignatureMismatch,
    /// The notification is another event type than the one asked for.
    #[error("the notification is a `{event_type}` event, not `oauth.authorization.revoked`")]
    UnexpectedEventType {
        /// The notification's `type`.
        event_type: String,
    },
    /// The body is not the JSON Square sends for this event.
    #[error("malformed notification at `{path}`: {message}")]
    Malformed {
        /// Where in the document it failed, as a serde path.
        path: String,
        /// What was wrong (without the values found).
        message: String,
    },
}

type HmacSha256 = Hmac<Sha256>;

/// Checks a notification's signature, in constant time.
///
/// `notification_url` is the subscription's URL exactly as registered with Square; `body` the raw
/// bytes received; `signature_header` the value of `x-square-hmacsha256-signature` (surrounding
/// whitespace is ignored).
///
/// ```
/// use square_oauth::WebhookSignatureKey;
/// use square_oauth::verify_signature;
///
/// let key = WebhookSignatureKey::new("asdf1234");
/// let url = "https://example.com/webhook";
/// let body = br#"{"hello":"world"}"#;
/// // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"asdf1234",
/// //   b"https://example.com/webhook"+b"{\"hello\":\"world\"}",hashlib.sha256).digest()).decode())'
/// let signature = "2kRE5qRU2tR+tBGlDwMEw2avJ7QM4ikPYD/PJ3bd9Og=";
/// assert!(verify_signature(&key, url, body, signature).is_ok());
/// assert!(verify_signature(&key, url, b"{}", signature).is_err());
/// ```
pub fn verify_signature(
    signature_key: &WebhookSignatureKey,
    notification_url: &str,
    body: &[u8],
    signature_header: &str,
) -> Result<(), WebhookError> {
    let key = signature_key.expose_secret().as_bytes();
    if key.is_empty() {
        return Err(InvalidInput::new("signature_key", Problem::Empty).into());
    }
    let given = STANDARD.decode(signature_header.trim()).map_err(|_| WebhookError::MalformedSignature)?;
    if given.len() != 32 {
        return Err(WebhookError::MalformedSignature);
    }
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| InvalidInput::new("signature_key", Problem::Empty))?;
    mac.update(notification_url.as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    if constant_time_eq(&expected, &given) { Ok(()) } else { Err(WebhookError::SignatureMismatch) }
}

/// Checks the signature of a notification as an [`http::Request`]: reads the header (exactly one
/// is required) and the body, then calls [`verify_signature`].
///
/// Square signs each notification with the subscription's signature key: the header
/// `x-square-hmacsha256-signature` holds the base64 (standard, padded) HMAC-SHA256 of the
/// notification URL, exactly as registered, followed directly by the raw body. Verify before
/// parsing, over the bytes as they arrived (re-serialized JSON would not match).
///
/// The notification URL is an argument rather than read from the request: behind a proxy or a
/// load balancer the URL the server sees is not the one Square signed.
///
/// ```
/// use square_oauth::WebhookSignatureKey;
/// use square_oauth::{parse_revocation, verify_request};
///
/// # let body = br#"{"merchant_id":"J9B9Q0CZ7WEXQ","type":"oauth.authorization.revoked","event_id":"e1","created_at":"2020-08-14T15:51:04Z","data":{"type":"revocation","id":"r1","object":{"revocation":{"revoked_at":"2020-08-14T15:51:00Z","revoker_type":"MERCHANT"}}}}"#;
/// # let request = http::Request::post("/square/webhooks")
/// #     .header("x-square-hmacsha256-signature", "EWQsFq5e4BkhDRM35ZweuMHxYK/7wqYchHRm5/YPdGA=")
/// #     .body(body.to_vec())?;
/// let key = WebhookSignatureKey::new("asdf1234");
/// verify_request(&key, "https://example.com/square/webhooks", &request)?;
/// let revoked = parse_revocation(request.body())?;
/// // Drop every token this application holds for the seller.
/// assert_eq!(revoked.merchant_id.as_str(), "J9B9Q0CZ7WEXQ");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_request<B: AsRef<[u8]>>(
    signature_key: &WebhookSignatureKey,
    notification_url: &str,
    request: &http::Request<B>,
) -> Result<(), WebhookError> {
    let mut values = request.headers().get_all(SIGNATURE_HEADER).iter();
    let header = values.next().ok_or(WebhookError::MissingSignature)?;
    if values.next().is_some() {
        return Err(WebhookError::MalformedSignature);
    }
    let header = header.to_str().map_err(|_| WebhookError::MalformedSignature)?;
    verify_signature(signature_key, notification_url, request.body().as_ref(), header)
}

open_enum! {
    /// Who revoked the authorization (`revoker_type`). Open: a value Square adds later is kept.
    ///
    /// ```
    /// use square_oauth::RevokerType;
    /// assert_eq!(RevokerType::from("MERCHANT"), RevokerType::Merchant);
    /// assert_eq!(RevokerType::from("ROBOT"), RevokerType::Other("ROBOT".into()));
    /// ```
    RevokerType {
        #[doc = "The application revoked it (RevokeToken without `revoke_only_access_token`)."]
        Application => "APPLICATION",
        #[doc = "The seller revoked it from their Square dashboard."]
        Merchant => "MERCHANT",
        #[doc = "Square revoked it."]
        Square => "SQUARE",
    }
}

/// An `oauth.authorization.revoked` notification: every token of the application for this
/// seller is dead; drop them. `event_id` is the idempotency key (Square may deliver twice, and a
/// captured notification can be sent again): see [Replays](#replays) below.
///
/// `revoked_at` and `revoker_type` are optional because Square's specification marks them (and
/// the objects around them) nullable: a revocation is never refused for a missing detail, since
/// refusing it would leave dead tokens in the application's store. `merchant_id`, `event_id` and
/// `created_at` are required: without them the event cannot be acted on.
///
/// # Replays
///
/// A valid signature says Square sent the bytes, not when: anyone who captured a notification
/// can send it again, and it will verify for as long as the key lives. Square also redelivers a
/// notification that was not acknowledged. An application refuses both with two checks:
///
/// - **Deduplicate on [`AuthorizationRevoked::event_id`]**: it is the same on every delivery of
///   one event; store the ids handled (for longer than Square retries) and skip a known one.
/// - **Ignore a revocation older than the grant held now**
///   ([`AuthorizationRevoked::is_older_than`], or
///   [`applies_to`](AuthorizationRevoked::applies_to) with the [`TokenSet`](crate::TokenSet)):
///   a replayed revocation of an earlier authorization must not drop the tokens of the seller's
///   newer one.
///
/// ```
/// use square_oauth::{ClientId, Flow, TokenSet, parse_revocation};
/// use square_oauth::jiff::Timestamp;
/// # use std::collections::HashSet;
///
/// // The seller authorized again on 2020-09-01, after the revocation of 2020-08-14.
/// # let answer = serde_json::from_str(r#"{"access_token":"EAAAx","merchant_id":"J9B9Q0CZ7WEXQ","refresh_token":"EQAAx"}"#)?;
/// let granted: Timestamp = "2020-09-01T00:00:00Z".parse()?;
/// let tokens = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, granted)?;
/// let mut handled: HashSet<String> = HashSet::new();
///
/// // (after verify_request) a captured notification of the old revocation, sent again:
/// let body = br#"{"merchant_id":"J9B9Q0CZ7WEXQ","type":"oauth.authorization.revoked","event_id":"e1","created_at":"2020-08-14T15:51:04Z","data":{"type":"revocation","id":"r1","object":{"revocation":{"revoked_at":"2020-08-14T15:51:00Z","revoker_type":"MERCHANT"}}}}"#;
/// let revoked = parse_revocation(body)?;
/// if handled.insert(revoked.event_id.clone()) && revoked.applies_to(&tokens) {
///     // drop the tokens
///     unreachable!("a revocation older than the grant held is not this grant's");
/// }
/// assert!(revoked.is_older_than(tokens.obtained_at()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuthorizationRevoked {
    /// The seller whose authorization ended.
    pub merchant_id: MerchantId,
    /// The notification's unique id; the same on a redelivery: deduplicate on it.
    pub event_id: String,
    /// When Square created the notification.
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: Timestamp,
    /// The revocation's id (`data.id`, which Square documents as "not applicable"), if given.
    pub revocation_id: Option<String>,
    /// When the authorization was revoked.
    #[serde(with = "crate::time::rfc3339::option")]
    pub revoked_at: Option<Timestamp>,
    /// Who revoked it.
    pub revoker_type: Option<RevokerType>,
}

impl AuthorizationRevoked {
    /// When the revocation happened: `revoked_at`, or the notification's `created_at` (never
    /// earlier) when Square left it out.
    pub fn revoked_or_created_at(&self) -> Timestamp {
        self.revoked_at.unwrap_or(self.created_at)
    }

    /// Whether the revocation happened before `granted_at`: then it ended an earlier
    /// authorization, not the one obtained at `granted_at`, and must not drop its tokens (a
    /// replayed or long-delayed notification). Strictly before: a revocation at the very
    /// instant is taken as applying. Without `revoked_at`, the notification's `created_at` is
    /// used, which only makes a revocation look newer, never wrongly older.
    ///
    /// `granted_at` comes from the application's clock and `revoked_at` from Square's; a clock
    /// that runs far ahead could make a real revocation look older, so keep the clock synced.
    pub fn is_older_than(&self, granted_at: Timestamp) -> bool {
        self.revoked_or_created_at() < granted_at
    }

    /// Whether this revocation ends the grant `tokens` holds: the same seller, and not older
    /// than when the tokens were obtained ([`TokenSet::obtained_at`](crate::TokenSet::obtained_at)).
    /// A token obtained after a revocation proves that revocation was of an earlier grant, since
    /// Square refuses to refresh a revoked one.
    pub fn applies_to(&self, tokens: &crate::TokenSet) -> bool {
        &self.merchant_id == tokens.merchant_id() && !self.is_older_than(tokens.obtained_at())
    }
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    event_type: String,
}

#[derive(Deserialize)]
struct RawRevoked {
    merchant_id: MerchantId,
    event_id: String,
    #[serde(with = "crate::time::rfc3339")]
    created_at: Timestamp,
    #[serde(default)]
    data: Option<RawData>,
}

#[derive(Deserialize)]
struct RawData {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    object: Option<RawObject>,
}

#[derive(Deserialize)]
struct RawObject {
    #[serde(default)]
    revocation: Option<RawRevocation>,
}

#[derive(Deserialize)]
struct RawRevocation {
    #[serde(default, with = "crate::time::rfc3339::option")]
    revoked_at: Option<Timestamp>,
    #[serde(default)]
    revoker_type: Option<RevokerType>,
}

/// Reads an `oauth.authorization.revoked` notification. Verify its signature first.
///
/// Another event type gives [`WebhookError::UnexpectedEventType`] (so a handler subscribed to
/// several can tell them apart); missing or ill-typed fields give [`WebhookError::Malformed`].
///
/// ```
/// use square_oauth::{RevokerType, parse_revocation};
///
/// // Square's example (`OauthAuthorizationRevokedEvent` in the specification).
/// let body = br#"{"created_at":"2020-08-14T15:51:04.246373287Z","data":{"id":"415641cf-eba2-4dfa-88cc-c4be1301fdc6",
///     "object":{"revocation":{"revoked_at":"2020-08-14T15:51:00.246373287Z","revoker_type":"MERCHANT"}},
///     "type":"revocation"},"event_id":"e1d6ae37-5aa9-45a5-b525-b12caf819fdb",
///     "merchant_id":"J9Z30SF99NPFJ","type":"oauth.authorization.revoked"}"#;
/// let revoked = parse_revocation(body)?;
/// assert_eq!(revoked.merchant_id.as_str(), "J9Z30SF99NPFJ");
/// assert_eq!(revoked.revoker_type, Some(RevokerType::Merchant));
/// # Ok::<(), square_oauth::WebhookError>(())
/// ```
pub fn parse_revocation(body: &[u8]) -> Result<AuthorizationRevoked, WebhookError> {
    let event: RawEvent = from_slice(body)?;
    if event.event_type != AUTHORIZATION_REVOKED {
        return Err(WebhookError::UnexpectedEventType { event_type: event.event_type });
    }
    let raw: RawRevoked = from_slice(body)?;
    let (revocation_id, revocation) = match raw.data {
        Some(data) => (data.id, data.object.and_then(|object| object.revocation)),
        None => (None, None),
    };
    let (revoked_at, revoker_type) = match revocation {
        Some(revocation) => (revocation.revoked_at, revocation.revoker_type),
        None => (None, None),
    };
    Ok(AuthorizationRevoked {
        merchant_id: raw.merchant_id,
        event_id: raw.event_id,
        created_at: raw.created_at,
        revocation_id,
        revoked_at,
        revoker_type,
    })
}

fn from_slice<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebhookError> {
    serde_json::from_slice(body).map_err(|error| WebhookError::Malformed {
        path: crate::json_path::path_of(body, &error),
        message: crate::redact::without_quoted_values(&error.to_string()),
    })
}
