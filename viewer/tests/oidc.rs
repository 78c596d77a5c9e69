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

/// The issuer's tokens, checked against the keys at `jwks`.
fn oidc_at(jwks: String) -> Oidc {
    Oidc::new(OidcConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks: JwksSource::Url(jwks),
        sign_in: None,
    })
}

fn state(jwks: String) -> (AppState, PathBuf) {
    state_with(oidc_at(jwks).refresh_at_most(Duration::ZERO), "tokens")
}

/// A server on the shipped model with a new store in a folder of its own.
fn state_with(oidc: Oidc, name: &str) -> (AppState, PathBuf) {
    let root = package_dir().join("../processes/keusote");
    let checked =
        polku_store::project::checked_model(Some(&root), false).expect("read").expect("checks");
    let model = polku_engine::compile(&checked.files);
    let sources = checked.model_sources();
    let dir = std::env::temp_dir().join(format!("polku-oidc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store =
        polku_store::open(&format!("sqlite://{}", dir.join("p.sqlite").display())).expect("store");
    let key = polku_engine::pseudonym::PseudonymKey::new(vec![3u8; 32]).expect("key");
    let tracker =
        TrackerService::new(Tracker::open(store, &sources, &model, key).expect("tracker"));
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

/// Serves the published keys while `up`, answers 503 otherwise, and counts the requests.
async fn flaky_issuer(
    keys: Vec<serde_json::Value>,
    up: Arc<std::sync::atomic::AtomicBool>,
    asked: Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    use std::sync::atomic::Ordering;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let router = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let (keys, up, asked) = (keys.clone(), up.clone(), asked.clone());
            async move {
                asked.fetch_add(1, Ordering::SeqCst);
                if !up.load(Ordering::SeqCst) {
                    return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                }
                (StatusCode::OK, serde_json::json!({ "keys": keys }).to_string())
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    format!("http://{address}/jwks.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_does_not_answer_is_asked_once_a_period_not_once_a_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let key = Key::new("avain-1");
    let up = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicUsize::new(0));
    let jwks = flaky_issuer(vec![key.jwk()], up.clone(), asked.clone()).await;
    let oidc = oidc_at(jwks).refresh_at_most(Duration::from_secs(1));
    let (state, dir) =
        tokio::task::spawn_blocking(move || state_with(oidc, "flaky")).await.expect("state");
    let good = key.token(&claims("process_owner", AUDIENCE, ISSUER, now() + 600));

    // The provider is down: every sign-in is refused as "not now", and it was asked once.
    let started = std::time::Instant::now();
    for _ in 0..10 {
        assert_eq!(model_status(&state, &good).await, StatusCode::SERVICE_UNAVAILABLE);
    }
    let periods = started.elapsed().as_secs() as usize + 1;
    assert!(
        asked.load(Ordering::SeqCst) <= periods,
        "asked {} times in {periods} periods of a second",
        asked.load(Ordering::SeqCst)
    );

    // Back: after the period, the token signs in.
    up.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(model_status(&state, &good).await, StatusCode::OK);

    // Tokens naming keys nobody published do not make a request to the provider each.
    let before = asked.load(Ordering::SeqCst);
    let started = std::time::Instant::now();
    for i in 0..20 {
        let stranger = Key::new(&format!("keksitty-{i}"));
        let token = stranger.token(&claims("process_owner", AUDIENCE, ISSUER, now() + 600));
        assert_eq!(model_status(&state, &token).await, StatusCode::UNAUTHORIZED);
    }
    let periods = started.elapsed().as_secs() as usize + 1;
    let more = asked.load(Ordering::SeqCst) - before;
    assert!(more <= periods, "asked {more} more times for 20 made-up keys in {periods} periods");
    // And a good token still signs in meanwhile.
    assert_eq!(model_status(&state, &good).await, StatusCode::OK);
    let _ = std::fs::remove_dir_all(dir);
}

/// Keys read before serve while the provider does not answer; a key they lack is "not now"
/// (503), not "unknown" (401), since the provider may have published it; requests that come
/// while a fetch is under way wait for it rather than being refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_read_before_serve_while_the_provider_does_not_answer() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let key = Key::new("avain-1");
    let up = Arc::new(AtomicBool::new(true));
    let asked = Arc::new(AtomicUsize::new(0));
    let jwks = flaky_issuer(vec![key.jwk()], up.clone(), asked.clone()).await;
    // The keys are old at once, so every request would read them again but for the period.
    let oidc = oidc_at(jwks).refresh_at_most(Duration::from_secs(2)).refresh_anyway(Duration::ZERO);
    let (state, dir) =
        tokio::task::spawn_blocking(move || state_with(oidc, "outage")).await.expect("state");
    let good = key.token(&claims("process_owner", AUDIENCE, ISSUER, now() + 600));

    // Many at once before any key was read: one fetch, which they all wait for.
    let first: Vec<_> = (0..8)
        .map(|_| {
            let (state, good) = (state.clone(), good.clone());
            tokio::spawn(async move { model_status(&state, &good).await })
        })
        .collect();
    for request in first {
        assert_eq!(request.await.expect("a request"), StatusCode::OK);
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1, "one fetch for the eight");

    up.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // The provider is asked again (the keys are old) and does not answer: the key read
    // before still signs in.
    assert_eq!(model_status(&state, &good).await, StatusCode::OK);
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    // A key published since cannot be read now: 503, until the provider answers.
    let newer = Key::new("avain-2");
    let rotated = newer.token(&claims("process_owner", AUDIENCE, ISSUER, now() + 600));
    assert_eq!(model_status(&state, &rotated).await, StatusCode::SERVICE_UNAVAILABLE);
    let _ = std::fs::remove_dir_all(dir);
}

// Sign-in on the staff page through the provider's pages: the authorization-code flow with
// PKCE. The provider here is an in-process issuer that checks what a provider checks (the
// verifier against the challenge of its authorization request, a code used once) and can be
// made to answer wrongly (a token for another sign-in or another client), which a real
// provider cannot; the browser test signs in through a real OpenID provider.

use polku_viewer::server::oidc::{pkce_challenge, SignInConfig, SignInError, TokenError};

const CLIENT: &str = "polku-perhekeskus";
const REDIRECT: &str = "http://polku.example/staff/oidc/callback";

/// What the issuer was asked to authorize, by code: the PKCE challenge, and the nonce it puts
/// into the identity token (the one asked for, unless the test says otherwise).
type Grants = Arc<Mutex<std::collections::HashMap<String, (String, String, String)>>>;

/// A provider with discovery, keys and a token endpoint on loopback; returns its issuer.
async fn provider(key: Arc<Key>, grants: Grants) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let discovery = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
    })
    .to_string();
    let jwks = serde_json::json!({"keys": [key.jwk()]}).to_string();
    let token_issuer = issuer.clone();
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { discovery }),
        )
        .route("/jwks", axum::routing::get(move || async move { jwks }))
        .route(
            "/token",
            axum::routing::post(move |body: String| {
                let (key, grants, issuer) = (key.clone(), grants.clone(), token_issuer.clone());
                async move {
                    let form: std::collections::HashMap<String, String> =
                        form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                    let code = form.get("code").cloned().unwrap_or_default();
                    let grant = grants.lock().expect("grants").remove(&code);
                    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                    let Some((challenge, nonce, audience)) = grant else {
                        return (
                            StatusCode::BAD_REQUEST,
                            r#"{"error":"invalid_grant","error_description":"unknown code"}"#
                                .to_owned(),
                        );
                    };
                    if pkce_challenge(&verifier) != challenge
                        || form.get("grant_type").map(String::as_str)
                            != Some("authorization_code")
                        || form.get("redirect_uri").map(String::as_str) != Some(REDIRECT)
                    {
                        return (
                            StatusCode::BAD_REQUEST,
                            r#"{"error":"invalid_grant","error_description":"PKCE verification failed"}"#
                                .to_owned(),
                        );
                    }
                    let mut claims = claims("staff", &audience, &issuer, now() + 300);
                    claims["nonce"] = serde_json::Value::String(nonce);
                    let answer = serde_json::json!({"id_token": key.token(&claims),
                        "access_token": "x", "token_type": "Bearer"});
                    (StatusCode::OK, answer.to_string())
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    issuer
}

fn sign_in_oidc(issuer: &str) -> Oidc {
    Oidc::new(OidcConfig {
        issuer: issuer.to_owned(),
        audience: CLIENT.into(),
        jwks: JwksSource::Discovered,
        sign_in: Some(SignInConfig {
            client_id: CLIENT.into(),
            client_secret: None,
            redirect_uri: REDIRECT.into(),
            authorization_endpoint: None,
            token_endpoint: None,
        }),
    })
}

fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[test]
fn the_pkce_challenge_is_that_of_rfc_7636() {
    // RFC 7636, appendix B.
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_is_exchanged_with_the_verifier_and_the_token_must_be_for_this_sign_in() {
    let key = Arc::new(Key::new("avain-1"));
    let grants: Grants = Arc::default();
    let issuer = provider(key, grants.clone()).await;
    let oidc = Arc::new(sign_in_oidc(&issuer));

    // The provider authorizes what the browser brings it, as code `name`.
    let authorize = |oidc: &Oidc, name: &str, nonce: Option<&str>, audience: &str| {
        let started = oidc.begin().expect("begin");
        let url = &started.url;
        assert!(url.starts_with(&format!("{issuer}/authorize?")), "{url}");
        assert_eq!(param(url, "response_type"), "code");
        assert_eq!(param(url, "client_id"), CLIENT);
        assert_eq!(param(url, "redirect_uri"), REDIRECT);
        assert_eq!(param(url, "code_challenge_method"), "S256");
        assert_eq!(param(url, "state"), started.state);
        assert!(param(url, "scope").split(' ').any(|s| s == "openid"));
        assert_eq!(param(url, "code_challenge").len(), 43);
        let nonce = nonce.map_or_else(|| param(url, "nonce"), str::to_owned);
        grants
            .lock()
            .expect("grants")
            .insert(name.to_owned(), (param(url, "code_challenge"), nonce, audience.to_owned()));
        started.state
    };
    let finish = |oidc: Arc<Oidc>, state: String, code: &'static str| async move {
        tokio::task::spawn_blocking(move || oidc.finish(&state, code)).await.expect("join")
    };

    let state = authorize(&oidc, "c1", None, CLIENT);
    let principal = finish(oidc.clone(), state.clone(), "c1").await.expect("signed in");
    assert_eq!(principal.name, "Terveydenhoitaja Mäki");
    assert_eq!(principal.units, vec!["neuvola".to_owned()]);
    // A state is used once.
    assert_eq!(finish(oidc.clone(), state, "c1").await, Err(SignInError::UnknownState));
    assert_eq!(
        finish(oidc.clone(), "never-started".into(), "c1").await,
        Err(SignInError::UnknownState)
    );

    // A token made for another sign-in (its nonce) is refused.
    let state = authorize(&oidc, "c2", Some("toisen-kirjautumisen-nonce"), CLIENT);
    assert_eq!(finish(oidc.clone(), state, "c2").await, Err(SignInError::Nonce));
    // A token made for another client is refused.
    let state = authorize(&oidc, "c3", None, "toinen-asiakas");
    assert!(matches!(
        finish(oidc.clone(), state, "c3").await,
        Err(SignInError::Token(TokenError::Invalid(_)))
    ));
    // A code the provider does not know: its refusal is passed on.
    let state = authorize(&oidc, "c4", None, CLIENT);
    let refused = finish(oidc.clone(), state, "c-unknown").await;
    assert!(
        matches!(&refused, Err(SignInError::Refused(reason)) if reason.contains("invalid_grant")),
        "{refused:?}"
    );
    // Another verifier than the one whose challenge was sent fails the provider's check: the
    // grant was recorded under another sign-in's challenge.
    let first = oidc.begin().expect("begin");
    let second = authorize(&oidc, "c5", None, CLIENT);
    let stolen = grants.lock().expect("grants").remove("c5").expect("grant");
    grants.lock().expect("grants").insert("c6".into(), stolen);
    let _ = second;
    let refused = finish(oidc.clone(), first.state, "c6").await;
    assert!(
        matches!(&refused, Err(SignInError::Refused(reason)) if reason.contains("PKCE")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_page_sends_the_browser_to_the_provider_and_checks_the_way_back() {
    let key = Arc::new(Key::new("avain-1"));
    let issuer = provider(key, Arc::default()).await;
    let oidc = sign_in_oidc(&issuer);
    let (state, dir) =
        tokio::task::spawn_blocking(move || state_with(oidc, "sign-in")).await.expect("state");
    let get = |uri: String, cookie: Option<String>| {
        let state = state.clone();
        async move {
            let mut request = Request::builder().uri(uri);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            app(state).oneshot(request.body(Body::empty()).expect("request")).await.expect("answer")
        }
    };
    let page = get("/staff".into(), None).await;
    let body = axum::body::to_bytes(page.into_body(), 1 << 20).await.expect("body");
    assert!(String::from_utf8_lossy(&body).contains("/staff/oidc/login"), "the page offers it");

    let started = get("/staff/oidc/login".into(), None).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let location = started.headers()["location"].to_str().expect("location").to_owned();
    assert!(location.starts_with(&format!("{issuer}/authorize?")), "{location}");
    let cookie = started.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let state_value = param(&location, "state");
    assert!(cookie.starts_with(&format!("polku_sign_in={state_value};")), "{cookie}");

    // Back without the cookie of the browser that started it: refused (login CSRF).
    let answer = get(format!("/staff/oidc/callback?code=c&state={state_value}"), None).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    // The provider says no.
    let cookie = format!("polku_sign_in={state_value}");
    let answer = get(
        format!("/staff/oidc/callback?error=access_denied&state={state_value}"),
        Some(cookie.clone()),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers().get("set-cookie").is_none(), "no session");
    // A code the provider does not know.
    let answer =
        get(format!("/staff/oidc/callback?code=c&state={state_value}"), Some(cookie)).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers().get("set-cookie").is_none(), "no session");
    let _ = std::fs::remove_dir_all(dir);
}

/// This package's folder as `cargo test` names it when it runs the test: a test binary reused
/// from a shared target folder may have been built in a checkout at another path.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
