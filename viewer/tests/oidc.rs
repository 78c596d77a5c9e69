//! Sign-in with an identity provider's JWTs, against a local issuer with a key made for the
//! test (no network): a good token signs in with its role; an expired one, another audience or
//! issuer, an unknown key, `alg: none` and an HMAC signed with the public key are refused; a new
//! key published by the issuer is taken up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64ct::{Base64UrlUnpadded, Encoding};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use polku_store::tracker::Tracker;
use polku_store::TrackerService;
use polku_viewer::server::api::Api;
use polku_viewer::server::oidc::{JwksSource, Oidc, OidcConfig};
use polku_viewer::server::{app, AppState, ModelVersion, Renderer};
use tower::ServiceExt;

const ISSUER: &str = "https://tunnistus.example.fi";
const AUDIENCE: &str = "polku";

struct Key {
    kid: String,
    signing: SigningKey,
}

impl Key {
    fn new(kid: &str) -> Key {
        Key { kid: kid.to_owned(), signing: SigningKey::random(&mut rand_core::OsRng) }
    }

    fn jwk(&self) -> serde_json::Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": Base64UrlUnpadded::encode_string(point.x().expect("x")),
            "y": Base64UrlUnpadded::encode_string(point.y().expect("y")),
        })
    }

    fn token(&self, claims: &serde_json::Value) -> String {
        let der = self.signing.to_pkcs8_der().expect("pkcs8");
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &EncodingKey::from_ec_der(der.as_bytes())).expect("sign")
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

fn claims(role: &str, aud: &str, iss: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({"sub": "s1", "name": "Terveydenhoitaja Mäki", "polku_role": role,
        "polku_units": ["neuvola"], "aud": aud, "iss": iss, "exp": exp})
}

/// Serves the published keys on loopback; returns the address of `/jwks.json`.
async fn issuer(keys: Arc<Mutex<Vec<serde_json::Value>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let router = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let keys = keys.clone();
            async move {
                let body = serde_json::json!({"keys": *keys.lock().expect("keys")}).to_string();
                ([("content-type", "application/json")], body)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    format!("http://{address}/jwks.json")
}

fn state(jwks: String) -> (AppState, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../processes/keusote");
    let checked =
        polku_store::project::checked_model(Some(&root), false).expect("read").expect("checks");
    let model = polku_engine::compile(&checked.files);
    let sources = checked.model_sources();
    let dir = std::env::temp_dir().join(format!("polku-oidc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store =
        polku_store::open(&format!("sqlite://{}", dir.join("p.sqlite").display())).expect("store");
    let key = polku_engine::pseudonym::PseudonymKey::new(vec![3u8; 32]).expect("key");
    let tracker =
        TrackerService::new(Tracker::open(store, &sources, &model, key).expect("tracker"));
    let oidc = Oidc::new(OidcConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks: JwksSource::Url(jwks),
    })
    .refresh_at_most(Duration::ZERO);
    let api = Api::new(tracker).with_oidc(oidc);
    let version = ModelVersion { version: sources.hash(), name: None, model };
    (AppState::with_api(version, Renderer::Browser, api, false), dir)
}

use std::path::PathBuf;

async fn model_status(state: &AppState, token: &str) -> StatusCode {
    let request = Request::builder()
        .uri("/api/v1/model")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    app(state.clone()).oneshot(request).await.expect("response").status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_identity_provider_sign_people_in_and_bad_ones_are_refused() {
    let first = Key::new("avain-1");
    let published = Arc::new(Mutex::new(vec![first.jwk()]));
    let jwks = issuer(published.clone()).await;
    let (state, dir) = tokio::task::spawn_blocking(move || state(jwks)).await.expect("state");
    let later = now() + 600;

    let good = first.token(&claims("process_owner", AUDIENCE, ISSUER, later));
    assert_eq!(model_status(&state, &good).await, StatusCode::OK);
    // The role in the token is what the policy sees.
    let auditor = first.token(&claims("auditor", AUDIENCE, ISSUER, later));
    assert_eq!(model_status(&state, &auditor).await, StatusCode::FORBIDDEN);

    let expired = first.token(&claims("process_owner", AUDIENCE, ISSUER, now() - 3600));
    assert_eq!(model_status(&state, &expired).await, StatusCode::UNAUTHORIZED, "expired");
    let other_audience = first.token(&claims("process_owner", "toinen", ISSUER, later));
    assert_eq!(model_status(&state, &other_audience).await, StatusCode::UNAUTHORIZED, "audience");
    let other_issuer =
        first.token(&claims("process_owner", AUDIENCE, "https://muu.example", later));
    assert_eq!(model_status(&state, &other_issuer).await, StatusCode::UNAUTHORIZED, "issuer");
    let no_role = first.token(&claims("pääkäyttäjä", AUDIENCE, ISSUER, later));
    assert_eq!(model_status(&state, &no_role).await, StatusCode::UNAUTHORIZED, "no role");

    // A key the issuer has not published.
    let stranger = Key::new("avain-x");
    let unknown = stranger.token(&claims("process_owner", AUDIENCE, ISSUER, later));
    assert_eq!(model_status(&state, &unknown).await, StatusCode::UNAUTHORIZED, "unknown key");
    // The right kid, but signed by another key.
    let forged = Key { kid: "avain-1".into(), signing: stranger.signing.clone() }.token(&claims(
        "process_owner",
        AUDIENCE,
        ISSUER,
        later,
    ));
    assert_eq!(model_status(&state, &forged).await, StatusCode::UNAUTHORIZED, "wrong signature");

    // alg confusion: an HMAC keyed with the public key, and no signature at all.
    let public = first.jwk().to_string();
    let mut hmac = Header::new(Algorithm::HS256);
    hmac.kid = Some("avain-1".into());
    let confused = encode(
        &hmac,
        &claims("process_owner", AUDIENCE, ISSUER, later),
        &EncodingKey::from_secret(public.as_bytes()),
    )
    .expect("hmac");
    assert_eq!(model_status(&state, &confused).await, StatusCode::UNAUTHORIZED, "HS256");
    let payload = Base64UrlUnpadded::encode_string(
        claims("process_owner", AUDIENCE, ISSUER, later).to_string().as_bytes(),
    );
    let none = format!(
        "{}.{payload}.",
        Base64UrlUnpadded::encode_string(br#"{"alg":"none","kid":"avain-1"}"#)
    );
    assert_eq!(model_status(&state, &none).await, StatusCode::UNAUTHORIZED, "alg none");

    // The issuer rotates its key: a token of the new key signs in.
    let second = Key::new("avain-2");
    published.lock().expect("keys").push(second.jwk());
    let rotated = second.token(&claims("process_owner", AUDIENCE, ISSUER, later));
    assert_eq!(model_status(&state, &rotated).await, StatusCode::OK, "rotated key");
    let _ = std::fs::remove_dir_all(dir);
}
