//! Who is asking, and what each role may do: the one policy every API handler goes through.
//!
//! Systems and, for the demo, people sign in with bearer API tokens. A token is 256 random
//! bits shown once when it is created (`polku token create`); the store keeps only its SHA-256
//! and what it grants (role and units).
//!
//! The roles (Act 703/2023: access to client data needs a care relationship):
//! - **staff** (`työntekijä`): client status and events, only of clients who have a case in
//!   one of their units, with a stated purpose on each status read;
//! - **process owner** (`prosessinomistaja`): the model, maps and aggregate reports;
//! - **viewer** (`katselija`): maps and aggregate reports;
//! - **auditor** (`tarkastaja`): the access log;
//! - **system** (`järjestelmä`): event ingestion for its configured units.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use polku_engine::projection::UnitScope;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A role, as a token grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Staff,
    ProcessOwner,
    Viewer,
    Auditor,
    System,
}

impl Role {
    pub const ALL: [Role; 5] =
        [Role::Staff, Role::ProcessOwner, Role::Viewer, Role::Auditor, Role::System];

    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "staff" | "työntekijä" => Role::Staff,
            "process_owner" | "prosessinomistaja" => Role::ProcessOwner,
            "viewer" | "katselija" => Role::Viewer,
            "auditor" | "tarkastaja" => Role::Auditor,
            "system" | "järjestelmä" => Role::System,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::ProcessOwner => "process_owner",
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::System => "system",
        }
    }
}

/// The holder of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// The units whose clients the holder may see or record for (staff and systems).
    #[serde(default)]
    pub units: Vec<String>,
}

impl Principal {
    /// The holder as the access log names them, with the purpose and request of one access.
    pub fn actor(&self, purpose: &str, request: &str) -> polku_store::tracker::Actor {
        polku_store::tracker::Actor {
            user: self.name.clone(),
            role: self.role.as_str().to_owned(),
            unit: (!self.units.is_empty()).then(|| self.units.join(",")),
            purpose: purpose.to_owned(),
            request: request.to_owned(),
        }
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Read the model: chains, services, segmentations, processes, plans.
    Model,
    /// Read aggregate reports.
    Reports,
    /// Read one client's data; `units` are the units of the client's cases.
    ClientData { units: &'a [String] },
    /// Record an event of a case in `unit`.
    RecordEvent { unit: &'a str },
    /// Send events at all (each is then checked with `RecordEvent`).
    SendEvents,
    /// Read the access log.
    Audit,
    /// Send an extract of the record systems' markers for the daily segment proposals: a
    /// system token made for the whole region (no units), and no other.
    MarkerExtract,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("the role {0} may not do this")]
    Role(&'static str),
    #[error("none of your units has a case of this client")]
    NoCareRelationship,
    #[error("your units do not include {0}")]
    Unit(String),
    #[error(
        "a marker extract comes with a system token for the whole region (one made without --unit)"
    )]
    NotRegionWide,
}

/// The policy: every handler asks here, and nowhere else.
pub fn authorize(principal: &Principal, action: Action<'_>) -> Result<(), Denied> {
    let role = principal.role;
    let deny = || Err(Denied::Role(role.as_str()));
    match action {
        Action::Model => match role {
            Role::ProcessOwner | Role::Viewer | Role::Staff => Ok(()),
            _ => deny(),
        },
        Action::Reports => match role {
            Role::ProcessOwner | Role::Viewer => Ok(()),
            _ => deny(),
        },
        Action::ClientData { units } => match role {
            Role::Staff if units.iter().any(|u| principal.units.contains(u)) => Ok(()),
            Role::Staff => Err(Denied::NoCareRelationship),
            _ => deny(),
        },
        Action::SendEvents => match role {
            Role::Staff | Role::System => Ok(()),
            _ => deny(),
        },
        Action::RecordEvent { unit } => match role {
            Role::Staff | Role::System if principal.units.iter().any(|u| u == unit) => Ok(()),
            Role::Staff | Role::System => Err(Denied::Unit(unit.to_owned())),
            _ => deny(),
        },
        Action::Audit => match role {
            Role::Auditor => Ok(()),
            _ => deny(),
        },
        // A day's extract proposes a segment for every client of the region, and takes every
        // client it leaves out to "no proposal": only a token for the whole region sends one.
        Action::MarkerExtract => match role {
            Role::System if principal.units.is_empty() => Ok(()),
            Role::System => Err(Denied::NotRegionWide),
            _ => deny(),
        },
    }
}

/// Whose cases of a client the holder sees, once [`Action::ClientData`] let them in: staff see
/// the cases of their own units only, not what the client has in other units. Every read of
/// client data is cut to it here, in the policy; a role given client data later sees nothing
/// until it is named here.
pub fn client_scope(principal: &Principal) -> UnitScope {
    match principal.role {
        Role::Staff => UnitScope::Only(principal.units.clone().into()),
        _ => UnitScope::Only(Arc::from([])),
    }
}

/// The store key under which a token's grant is kept: its SHA-256, never the token.
pub fn token_key(token: &str) -> String {
    let digest = Sha256::digest(token.trim().as_bytes());
    format!("token:{}", polku_engine::pseudonym::to_hex(&digest))
}

/// A new token: `polku_` and 256 random bits in hexadecimal.
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut random = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut random)?;
    let mut token = String::from("polku_");
    for byte in random {
        token.push_str(&format!("{byte:02x}"));
    }
    Ok(token)
}

/// Grants already looked up, by token key.
#[derive(Debug, Default)]
pub struct TokenCache(Mutex<HashMap<String, Arc<Principal>>>);

impl TokenCache {
    pub fn get(&self, key: &str) -> Option<Arc<Principal>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    pub fn put(&self, key: String, principal: Arc<Principal>) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(key, principal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, units: &[&str]) -> Principal {
        Principal { name: "t".into(), role, units: units.iter().map(|u| u.to_string()).collect() }
    }

    #[test]
    fn each_role_gets_only_what_it_needs() {
        let neuvola = vec!["neuvola".to_owned()];
        for role in Role::ALL {
            let p = who(role, &["neuvola"]);
            assert_eq!(
                authorize(&p, Action::ClientData { units: &neuvola }).is_ok(),
                role == Role::Staff,
                "{role:?}"
            );
            assert_eq!(authorize(&p, Action::Audit).is_ok(), role == Role::Auditor);
            assert_eq!(
                authorize(&p, Action::Reports).is_ok(),
                matches!(role, Role::ProcessOwner | Role::Viewer)
            );
            assert_eq!(
                authorize(&p, Action::RecordEvent { unit: "neuvola" }).is_ok(),
                matches!(role, Role::Staff | Role::System)
            );
        }
        let other = who(Role::Staff, &["perheneuvola"]);
        assert_eq!(
            authorize(&other, Action::ClientData { units: &neuvola }),
            Err(Denied::NoCareRelationship)
        );
        assert!(authorize(&other, Action::RecordEvent { unit: "neuvola" }).is_err());
    }

    #[test]
    fn tokens_are_kept_as_hashes() {
        let token = new_token().expect("random");
        assert!(token.starts_with("polku_") && token.len() == 70);
        let key = token_key(&token);
        assert!(!key.contains(&token[6..]));
        assert_eq!(key.len(), "token:".len() + 64);
    }
}
