//! Assessment answers kept encrypted for a set time, when `polku.toml` asks for it
//! (`[privacy] keep_answers_days`); by default they are never stored (see the server's
//! assessment flow).
//!
//! Each answer set is sealed with ChaCha20-Poly1305 under a key derived from the pseudonym key
//! (which never enters the database), with a fresh random nonce, and the case and form as
//! associated data, so that a sealed set moved to another case no longer opens. A row carries
//! the time it expires; expired rows are never opened and are deleted by
//! [`EventStore::forget_answers`], with SQLite's `secure_delete` so that the freed pages are
//! overwritten, and the write-ahead log truncated.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use polku_engine::pseudonym::PseudonymKey;

use crate::StoreError;

/// One kept answer set, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct KeptAnswers {
    pub case: String,
    pub form: String,
    /// When it was kept and when it goes (timestamps).
    pub kept: i64,
    pub expires: i64,
    pub nonce: [u8; NONCE_LEN],
    /// The answers, encrypted, with the authentication tag.
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for KeptAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptAnswers")
            .field("case", &self.case)
            .field("form", &self.form)
            .field("kept", &self.kept)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// A kept set and its answers, `None` when it does not open.
pub type Opened = (KeptAnswers, Option<Vec<u8>>);

fn key(pseudonym_key: &PseudonymKey) -> Result<LessSafeKey, StoreError> {
    let bytes = pseudonym_key.derive("answers");
    let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
        .map_err(|_| StoreError::Other("the answers' key could not be made".into()))?;
    Ok(LessSafeKey::new(key))
}

/// What a sealed set is bound to: its case, form, and the times it was kept and goes, each
/// length-prefixed, so that a set moved to another case or given a longer life does not open.
fn associated(case: &str, form: &str, kept: i64, expires: i64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(case.len() + form.len() + 32);
    for part in [case.as_bytes(), form.as_bytes()] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad.extend_from_slice(&kept.to_be_bytes());
    aad.extend_from_slice(&expires.to_be_bytes());
    aad
}

/// Seals `plain` (the answers, serialised) for `case` and `form`, to be kept until `expires`.
pub fn seal(
    pseudonym_key: &PseudonymKey,
    case: &str,
    form: &str,
    plain: &[u8],
    kept: i64,
    expires: i64,
) -> Result<KeptAnswers, StoreError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| StoreError::Other("no random numbers for the answers' nonce".into()))?;
    let mut sealed = plain.to_vec();
    key(pseudonym_key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated(case, form, kept, expires)),
            &mut sealed,
        )
        .map_err(|_| StoreError::Other("the answers could not be encrypted".into()))?;
    Ok(KeptAnswers { case: case.to_owned(), form: form.to_owned(), kept, expires, nonce, sealed })
}

/// Opens kept answers; an error when the key is another or the row was changed.
pub fn open(pseudonym_key: &PseudonymKey, kept: &KeptAnswers) -> Result<Vec<u8>, StoreError> {
    let mut bytes = kept.sealed.clone();
    let plain = key(pseudonym_key)?
        .open_in_place(
            Nonce::assume_unique_for_key(kept.nonce),
            Aad::from(associated(&kept.case, &kept.form, kept.kept, kept.expires)),
            &mut bytes,
        )
        .map_err(|_| {
            StoreError::Other(format!(
                "the kept answers of case {} do not open: another key, or the row was changed",
                kept.case
            ))
        })?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(byte: u8) -> PseudonymKey {
        PseudonymKey::new(vec![byte; 32]).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn answers_open_only_with_their_key_case_and_form() {
        let plain = b"{\"kerro\":\"Kotona riidellaan\"}";
        let kept = seal(&key_of(1), "c-1", "l", plain, 10, 20).unwrap_or_else(|e| panic!("{e}"));
        assert!(!kept.sealed.windows(8).any(|w| w == b"riidella"), "the answers are encrypted");
        assert_eq!(open(&key_of(1), &kept).ok().as_deref(), Some(&plain[..]));
        assert!(open(&key_of(2), &kept).is_err(), "another key");
        let moved = KeptAnswers { case: "c-2".into(), ..kept.clone() };
        assert!(open(&key_of(1), &moved).is_err(), "another case");
        let longer = KeptAnswers { expires: 30, ..kept.clone() };
        assert!(open(&key_of(1), &longer).is_err(), "a longer life");
        let mut changed = kept.clone();
        changed.sealed[0] ^= 1;
        assert!(open(&key_of(1), &changed).is_err(), "a changed row");
        let again = seal(&key_of(1), "c-1", "l", plain, 10, 20).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(again.nonce, kept.nonce, "a fresh nonce each time");
    }
}
