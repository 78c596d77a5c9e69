//! Sign-in for people with OpenID Connect: the region's identity provider issues JWTs, and the
//! server checks each one against the issuer, the audience and the provider's keys (JWKS).
//!
//! The keys are read from configuration (`[oidc]` in `polku.toml`): an `http://` address or a
//! file. They are kept and read again when a token names a key not seen before (key rotation),
//! at most once a minute, and every ten minutes anyway. Refused: an expired token, another
//! issuer or audience, an unknown key, and any algorithm but RS256 and ES256, whatever the
//! token's header says (so neither `none` nor an HMAC signed with the public key passes).
//!
//! The token's claims name the person (`name`, else `sub`), the role (`polku_role`, or the first
//! known one of `roles`) and the units (`polku_units`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::auth::{Principal, Role};

/// Where the identity provider's keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// `http://host:port/path`, read with a plain GET.
    Url(String),
    File(PathBuf),
}

/// The identity provider as configuration names it.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks: JwksSource,
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

/// The provider's keys, kept.
#[derive(Debug)]
pub struct Oidc {
    config: OidcConfig,
    keys: RwLock<Option<(Instant, JwkSet)>>,
    refresh_at_most: Duration,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Oidc {
        Oidc { config, keys: RwLock::new(None), refresh_at_most: REFRESH_AT_MOST }
    }

    /// Reads the keys again at most this often when a token names an unknown key.
    pub fn refresh_at_most(mut self, every: Duration) -> Oidc {
        self.refresh_at_most = every;
        self
    }

    fn fetch(&self) -> Result<JwkSet, TokenError> {
        let text = match &self.config.jwks {
            JwksSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| TokenError::Keys(format!("{}: {e}", path.display())))?,
            JwksSource::Url(url) => http_get(url).map_err(TokenError::Keys)?,
        };
        serde_json::from_str(&text).map_err(|e| TokenError::Keys(e.to_string()))
    }

    /// The key named `kid`, reading the keys again when it is not known (or they are old).
    fn key(&self, kid: &str) -> Result<jsonwebtoken::jwk::Jwk, TokenError> {
        let (found, age) = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            match keys.as_ref() {
                Some((at, set)) => (set.find(kid).cloned(), Some(at.elapsed())),
                None => (None, None),
            }
        };
        if let (Some(key), Some(age)) = (&found, age) {
            if age < REFRESH_ANYWAY {
                return Ok(key.clone());
            }
        }
        if age.is_some_and(|a| a < self.refresh_at_most) {
            return found.ok_or(TokenError::UnknownKey);
        }
        let set = self.fetch()?;
        let key = set.find(kid).cloned();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), set));
        key.ok_or(TokenError::UnknownKey)
    }

    /// The person a token signs in, or why not.
    pub fn validate(&self, token: &str) -> Result<Principal, TokenError> {
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
        validation.set_audience(&[&self.config.audience]);
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
        Ok(Principal { name, role, units: claims.polku_units })
    }
}

/// A plain HTTP GET of a small document, for keys on the region's own network.
fn http_get(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("{url}: only http:// addresses (or a file) are read here; put the keys in a file that is kept up to date")
    })?;
    let (host, path) =
        rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| format!("{url}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("{url}: {e}"))?;
    let mut response = Vec::new();
    stream.take(4 * 1024 * 1024).read_to_end(&mut response).map_err(|e| format!("{url}: {e}"))?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) =
        text.split_once("\r\n\r\n").ok_or_else(|| format!("{url}: no HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("{url}: {}", head.lines().next().unwrap_or("")));
    }
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return Err(format!("{url}: a chunked answer is not read; serve the keys with a length"));
    }
    Ok(body.to_owned())
}
