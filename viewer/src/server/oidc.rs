//! Sign-in for people with OpenID Connect: the region's identity provider issues JWTs, and the
//! server checks each one against the issuer, the audience and the provider's keys (JWKS).
//!
//! The keys are read from configuration (`[oidc]` in `polku.toml`): an address or a file, or
//! the provider's discovery document. They are kept and read again when a token names a key not seen before (key rotation),
//! at most once a minute, and every ten minutes anyway. Refused: an expired token, another
//! issuer or audience, an unknown key, and any algorithm but RS256 and ES256, whatever the
//! token's header says (so neither `none` nor an HMAC signed with the public key passes).
//!
//! Staff sign in on the staff page through the provider's own pages when `[oidc]` names this
//! server as a client (`client_id`, `redirect_uri`): the authorization-code flow with PKCE
//! (S256), a state and a nonce kept here for ten minutes and used once, the code exchanged at
//! the token endpoint by this server, and the identity token checked like any other token, with
//! this client as its audience and the kept nonce. The endpoints come from the provider's
//! discovery document unless configured. Keys and endpoints are read over `https://` (checked
//! against the system's trust store) or, on the region's own network, `http://`.
//!
//! The token's claims name the person (`name`, else `sub`), the role (`polku_role`, or the first
//! known one of `roles`) and the units (`polku_units`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::auth::{Principal, Role};

/// Where the identity provider's keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// An `http://` or `https://` address.
    Url(String),
    File(PathBuf),
    /// The `jwks_uri` of the provider's discovery document.
    Discovered,
}

/// The identity provider as configuration names it.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    /// The audience of access tokens sent to the API.
    pub audience: String,
    pub jwks: JwksSource,
    /// Sign-in on the staff page through the provider's own pages, when configured.
    pub sign_in: Option<SignInConfig>,
}

/// This server as a client of the identity provider, for the authorization-code flow.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    pub client_id: String,
    /// For a confidential client (sent with HTTP Basic); a public client has none and is
    /// protected by PKCE alone.
    pub client_secret: Option<String>,
    /// This server's callback as the provider knows it: `https://…/staff/oidc/callback`.
    pub redirect_uri: String,
    /// Taken from the provider's discovery document when not given.
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a JWT")]
    Malformed,
    #[error("the token's algorithm {0} is not accepted (RS256 or ES256)")]
    Algorithm(String),
    #[error("the token names no key, or a key the identity provider does not have")]
    UnknownKey,
    #[error("the identity provider's keys could not be read: {0}")]
    Keys(String),
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the token grants no role of this service")]
    NoRole,
}

#[derive(Debug, Deserialize)]
struct Claims {
    nonce: Option<String>,
    sub: Option<String>,
    name: Option<String>,
    polku_role: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    polku_units: Vec<String>,
}

const REFRESH_AT_MOST: Duration = Duration::from_secs(60);
const REFRESH_ANYWAY: Duration = Duration::from_secs(600);
const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(5);

/// The provider's keys and endpoints, kept, and the sign-ins under way.
#[derive(Debug)]
pub struct Oidc {
    config: OidcConfig,
    keys: RwLock<Option<(Instant, JwkSet)>>,
    /// When the keys were last fetched or tried, and whether that fetch was answered: a
    /// provider that does not answer is asked again at most every `refresh_at_most`, not once
    /// per request. Held while a fetch is under way, so that one fetch serves every request
    /// that waits for it.
    fetching: Mutex<Option<(Instant, bool)>>,
    refresh_at_most: Duration,
    refresh_anyway: Duration,
    endpoints: RwLock<Option<Endpoints>>,
    pending: Mutex<HashMap<String, Pending>>,
}

/// What the provider's discovery document says (the parts used here).
#[derive(Debug, Clone, Deserialize)]
struct Endpoints {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// A sign-in sent to the provider and not yet back: what the answer must match.
#[derive(Debug)]
struct Pending {
    verifier: String,
    nonce: String,
    started: Instant,
}

/// A sign-in must come back from the provider within this time.
const SIGN_IN_TIME: Duration = Duration::from_secs(10 * 60);
/// At most this many sign-ins wait at once; the oldest gives way (a flood of started sign-ins
/// cannot grow memory without bound).
const MAX_PENDING: usize = 10_000;

/// Where to send the browser, and the state that the callback must bring back.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: String,
    pub state: String,
}

/// Why a sign-in through the provider did not sign anyone in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("sign-in through the identity provider is not configured")]
    NotConfigured,
    #[error("this sign-in was not started here, was already used, or took over ten minutes")]
    UnknownState,
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(#[from] Unreachable),
    #[error("the identity provider's answer was not understood: {0}")]
    Answer(String),
    #[error("the identity token was refused: {0}")]
    Token(#[from] TokenError),
    #[error("the identity token was made for another sign-in (nonce)")]
    Nonce,
    #[error("no randomness for the sign-in: {0}")]
    Randomness(String),
}

/// The PKCE challenge of a verifier (RFC 7636, S256): BASE64URL(SHA-256(verifier)), unpadded.
pub fn pkce_challenge(verifier: &str) -> String {
    use base64ct::Encoding;
    use sha2::Digest;
    base64ct::Base64UrlUnpadded::encode_string(&sha2::Sha256::digest(verifier.as_bytes()))
}

/// `application/x-www-form-urlencoded` pairs, for a query string.
fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Oidc {
        Oidc {
            config,
            keys: RwLock::new(None),
            fetching: Mutex::new(None),
            refresh_at_most: REFRESH_AT_MOST,
            refresh_anyway: REFRESH_ANYWAY,
            endpoints: RwLock::new(None),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Does the staff page offer sign-in through the provider?
    pub fn signs_in(&self) -> bool {
        self.config.sign_in.is_some()
    }

    /// The provider's discovery document, read once (and again after a failure).
    fn endpoints(&self) -> Result<Endpoints, SignInError> {
        if let Some(known) = self.endpoints.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Ok(known.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let text = http_get(&url)?;
        let found: Endpoints =
            serde_json::from_str(&text).map_err(|e| SignInError::Answer(format!("{url}: {e}")))?;
        if found.issuer != self.config.issuer {
            return Err(SignInError::Answer(format!(
                "{url} names the issuer {}, not {}",
                found.issuer, self.config.issuer
            )));
        }
        *self.endpoints.write().unwrap_or_else(|e| e.into_inner()) = Some(found.clone());
        Ok(found)
    }

    fn authorization_endpoint(&self, sign_in: &SignInConfig) -> Result<String, SignInError> {
        match &sign_in.authorization_endpoint {
            Some(url) => Ok(url.clone()),
            None => Ok(self.endpoints()?.authorization_endpoint),
        }
    }

    fn token_endpoint(&self, sign_in: &SignInConfig) -> Result<String, SignInError> {
        match &sign_in.token_endpoint {
            Some(url) => Ok(url.clone()),
            None => Ok(self.endpoints()?.token_endpoint),
        }
    }

    /// Starts a sign-in: a fresh state, nonce and PKCE verifier are kept here, and the browser
    /// is sent to the provider with the state, the nonce and the verifier's S256 challenge.
    pub fn begin(&self) -> Result<Authorization, SignInError> {
        let sign_in = self.config.sign_in.as_ref().ok_or(SignInError::NotConfigured)?;
        let endpoint = self.authorization_endpoint(sign_in)?;
        let random =
            || super::auth::new_token().map_err(|e| SignInError::Randomness(e.to_string()));
        let (state, nonce, verifier) = (random()?, random()?, random()?);
        let url = format!(
            "{endpoint}{}{}",
            if endpoint.contains('?') { '&' } else { '?' },
            query(&[
                ("response_type", "code"),
                ("client_id", &sign_in.client_id),
                ("redirect_uri", &sign_in.redirect_uri),
                ("scope", "openid profile"),
                ("state", &state),
                ("nonce", &nonce),
                ("code_challenge", &pkce_challenge(&verifier)),
                ("code_challenge_method", "S256"),
            ])
        );
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.started.elapsed() < SIGN_IN_TIME);
        if pending.len() >= MAX_PENDING {
            if let Some(oldest) =
                pending.iter().min_by_key(|(_, p)| p.started).map(|(k, _)| k.clone())
            {
                pending.remove(&oldest);
            }
        }
        pending.insert(state.clone(), Pending { verifier, nonce, started: Instant::now() });
        Ok(Authorization { url, state })
    }

    /// Finishes a sign-in that came back with `state` and `code`: the code is exchanged at the
    /// token endpoint with the kept verifier, and the identity token is checked (signature,
    /// issuer, this client as its audience, expiry, and the kept nonce). Each state is used
    /// once. Blocking: it waits for the provider.
    pub fn finish(&self, state: &str, code: &str) -> Result<Principal, SignInError> {
        let sign_in = self.config.sign_in.as_ref().ok_or(SignInError::NotConfigured)?;
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(state)
            .filter(|p| p.started.elapsed() < SIGN_IN_TIME)
            .ok_or(SignInError::UnknownState)?;
        let endpoint = self.token_endpoint(sign_in)?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", sign_in.redirect_uri.as_str()),
            ("code_verifier", pending.verifier.as_str()),
            ("client_id", sign_in.client_id.as_str()),
        ];
        if let Some(secret) = &sign_in.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
        let (status, body) = http_post_form(&endpoint, &form)?;
        #[derive(Deserialize)]
        struct TokenAnswer {
            id_token: Option<String>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let answer: TokenAnswer = serde_json::from_str(&body).map_err(|_| {
            SignInError::Answer(format!("{endpoint}: HTTP {status} without a JSON answer"))
        })?;
        if let Some(error) = answer.error {
            let described = answer.error_description.map(|d| format!("{error}: {d}"));
            return Err(SignInError::Refused(described.unwrap_or(error)));
        }
        let token = answer
            .id_token
            .ok_or_else(|| SignInError::Answer(format!("{endpoint}: no id_token in the answer")))?;
        let (principal, nonce) = self.check(&token, &sign_in.client_id)?;
        if nonce.as_deref() != Some(pending.nonce.as_str()) {
            return Err(SignInError::Nonce);
        }
        Ok(principal)
    }

    /// Reads the keys again once they are this old, even when the token's key is among them
    /// (ten minutes unless set).
    pub fn refresh_anyway(mut self, after: Duration) -> Oidc {
        self.refresh_anyway = after;
        self
    }

    /// Reads the keys again at most this often when a token names an unknown key, and tries
    /// a provider that did not answer again at most this often.
    pub fn refresh_at_most(mut self, every: Duration) -> Oidc {
        self.refresh_at_most = every;
        self
    }

    fn fetch(&self) -> Result<JwkSet, TokenError> {
        let text = match &self.config.jwks {
            JwksSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| TokenError::Keys(format!("{}: {e}", path.display())))?,
            JwksSource::Url(url) => http_get(url).map_err(|e| TokenError::Keys(e.to_string()))?,
            JwksSource::Discovered => {
                let url = self.endpoints().map_err(|e| TokenError::Keys(e.to_string()))?.jwks_uri;
                http_get(&url).map_err(|e| TokenError::Keys(e.to_string()))?
            }
        };
        serde_json::from_str(&text).map_err(|e| TokenError::Keys(e.to_string()))
    }

    /// The key named `kid` and whether the keys it is from are fresh.
    fn known(&self, kid: &str) -> Option<(Option<jsonwebtoken::jwk::Jwk>, bool)> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.as_ref().map(|(at, set)| (set.find(kid).cloned(), at.elapsed() < self.refresh_anyway))
    }

    /// The key named `kid`, reading the keys again when it is not known (or they are old).
    /// The keys are fetched at most every `refresh_at_most`, whether the last fetch was
    /// answered or not, so that tokens naming made-up keys, or a provider that does not answer,
    /// cost one request to it a period and not one per request here. One fetch at a time: a
    /// request that needs the keys waits for the fetch under way and reads what it found; one
    /// that holds an old but usable key goes on with it. While the provider does not answer,
    /// the keys read before serve, and a key they lack is "not now" (503), not "unknown" (401).
    fn key(&self, kid: &str) -> Result<jsonwebtoken::jwk::Jwk, TokenError> {
        if let Some((Some(key), true)) = self.known(kid) {
            return Ok(key);
        }
        let mut fetching = match self.fetching.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                if let Some((Some(key), _)) = self.known(kid) {
                    return Ok(key);
                }
                self.fetching.lock().unwrap_or_else(|e| e.into_inner())
            }
        };
        // Read again: the fetch waited for may have brought the key.
        let found = self.known(kid);
        if let Some((Some(key), true)) = &found {
            return Ok(key.clone());
        }
        let found = found.map(|(key, _)| key);
        // With no keys at all nobody signs in: the provider is asked again sooner.
        let period = match found {
            Some(_) => self.refresh_at_most,
            None => self.refresh_at_most.min(RETRY_WITHOUT_KEYS),
        };
        let unread = || {
            TokenError::Keys(format!(
                "the identity provider's keys could not be read; they are asked for again at most every {} s",
                period.as_secs()
            ))
        };
        if let Some((at, answered)) = *fetching {
            if at.elapsed() < period {
                return match found {
                    Some(Some(key)) => Ok(key),
                    Some(None) if answered => Err(TokenError::UnknownKey),
                    _ => Err(unread()),
                };
            }
        }
        let fetched = self.fetch();
        *fetching = Some((Instant::now(), fetched.is_ok()));
        match fetched {
            Ok(set) => {
                let key = set.find(kid).cloned();
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), set));
                key.ok_or(TokenError::UnknownKey)
            }
            // The keys read before serve until the provider answers again.
            Err(e) => match found {
                Some(Some(key)) => Ok(key),
                _ => Err(e),
            },
        }
    }

    /// The person a token signs in, or why not.
    pub fn validate(&self, token: &str) -> Result<Principal, TokenError> {
        self.check(token, &self.config.audience).map(|(principal, _)| principal)
    }

    /// The person a token made for `audience` signs in, with the token's nonce.
    fn check(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<(Principal, Option<String>), TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        let algorithm = match header.alg {
            Algorithm::RS256 => Algorithm::RS256,
            Algorithm::ES256 => Algorithm::ES256,
            other => return Err(TokenError::Algorithm(format!("{other:?}"))),
        };
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let jwk = self.key(&kid)?;
        // The key decides the algorithm: a token may not choose another one for it.
        let key_algorithm = match &jwk.algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
            jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
            _ => return Err(TokenError::Algorithm("the key's".to_owned())),
        };
        if key_algorithm != algorithm {
            return Err(TokenError::Algorithm(format!(
                "{algorithm:?} for a key of {key_algorithm:?}"
            )));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| TokenError::Keys(e.to_string()))?;
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 30;
        let data = decode::<Claims>(token, &key, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let claims = data.claims;
        let role = claims
            .polku_role
            .as_deref()
            .and_then(Role::parse)
            .or_else(|| claims.roles.iter().find_map(|r| Role::parse(r)))
            .ok_or(TokenError::NoRole)?;
        let name = claims.name.or(claims.sub).unwrap_or_else(|| "unknown".to_owned());
        Ok((Principal { name, role, units: claims.polku_units }, claims.nonce))
    }
}

/// The one HTTP client for the identity provider: TLS checked against the system's trust
/// store (a region's own CA included), ten seconds at most per request, answers up to 4 MiB.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .new_agent()
}

const MAX_ANSWER: u64 = 4 * 1024 * 1024;

/// A request to the identity provider that did not get an answer to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {reason}")]
pub struct Unreachable {
    url: String,
    reason: String,
}

impl Unreachable {
    fn new(url: &str, reason: impl std::fmt::Display) -> Unreachable {
        Unreachable { url: url.to_owned(), reason: reason.to_string() }
    }
}

fn read_answer(
    url: &str,
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, String), Unreachable> {
    let mut answer = answer.map_err(|e| Unreachable::new(url, e))?;
    let status = answer.status().as_u16();
    let body = answer
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_string()
        .map_err(|e| Unreachable::new(url, e))?;
    Ok((status, body))
}

fn checked_address(url: &str) -> Result<(), Unreachable> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(Unreachable::new(url, "not an http:// or https:// address"))
    }
}

/// A GET of a small JSON document (keys, discovery) over `http://` or `https://`.
fn http_get(url: &str) -> Result<String, Unreachable> {
    checked_address(url)?;
    let (status, body) =
        read_answer(url, agent().get(url).header("accept", "application/json").call())?;
    if status != 200 {
        return Err(Unreachable::new(url, format_args!("the answer was HTTP {status}")));
    }
    Ok(body)
}

/// A form POST (the token request); the answer is returned whatever its status, since an
/// OAuth error comes as JSON with a 400.
fn http_post_form(url: &str, form: &[(&str, &str)]) -> Result<(u16, String), Unreachable> {
    checked_address(url)?;
    read_answer(
        url,
        agent().post(url).header("accept", "application/json").send_form(form.iter().copied()),
    )
}
