//! Clients are known only by pseudonyms. Wherever a client is named, a Finnish personal
//! identity code (henkilötunnus) is also accepted: it is validated and at once turned into a
//! keyed pseudonym, HMAC-SHA-256 under a secret key that lives outside the database. The code
//! itself is never kept: no type here holds it, and no error message repeats it.
//!
//! The code is `DDMMYYCNNNQ`: birth date, century sign (`+` for the 1800s, `-YXWVU` for the
//! 1900s, `ABCDEF` for the 2000s), individual number (002–899 for persons, 900–999 for
//! temporary and test codes, which are accepted too), and check character
//! `"0123456789ABCDEFHJKLMNPRSTUVWXY"[DDMMYYNNN mod 31]`. Nothing is derived from it (neither
//! age nor sex): it is validated and pseudonymised, nothing else.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

const CHECK_CHARACTERS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// What is wrong with a personal identity code. The variants name the part that is wrong and
/// never carry the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityCodeError {
    #[error("a personal identity code has 11 characters: DDMMYYCNNNQ")]
    Length,
    #[error("the first six characters of a personal identity code are the birth date DDMMYY")]
    DateDigits,
    #[error("the seventh character of a personal identity code is a century sign: + - Y X W V U A B C D E F")]
    CenturySign,
    #[error("the birth date of the personal identity code is not a date")]
    Date,
    #[error("the individual number (characters 8–10) of a personal identity code is between 002 and 999")]
    IndividualNumber,
    #[error("the check character of the personal identity code does not match")]
    CheckCharacter,
}

/// The secret key of the pseudonyms. Its bytes never show in debug output.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl PseudonymKey {
    /// A key of at least 32 bytes, as HMAC-SHA-256 wants for full strength.
    pub fn new(bytes: Vec<u8>) -> Result<PseudonymKey, KeyError> {
        if bytes.len() < 32 {
            return Err(KeyError::TooShort(bytes.len()));
        }
        Ok(PseudonymKey(bytes))
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(…)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the pseudonym key has {0} bytes; it needs at least 32")]
    TooShort(usize),
}

/// A client's pseudonym: 64 lowercase hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Pseudonym(String);

impl Pseudonym {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accepts a pseudonym given as text: 64 hexadecimal characters.
    pub fn parse(text: &str) -> Option<Pseudonym> {
        let valid = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Pseudonym(text.to_ascii_lowercase()))
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Does the text look like a personal identity code (rather than a pseudonym)? Callers use
/// this to decide which of the two they were given.
pub fn looks_like_identity_code(text: &str) -> bool {
    text.trim().chars().count() == 11
}

/// Validates a personal identity code and returns its pseudonym under `key`.
pub fn pseudonymise(code: &str, key: &PseudonymKey) -> Result<Pseudonym, IdentityCodeError> {
    let code = code.trim().as_bytes();
    validate(code)?;
    // Upper and lower case letters are the same code.
    let canonical: Vec<u8> = code.iter().map(u8::to_ascii_uppercase).collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes a key of any length");
    mac.update(b"polku-client-v1:");
    mac.update(&canonical);
    Ok(Pseudonym(to_hex(&mac.finalize().into_bytes())))
}

/// Lowercase hexadecimal, as pseudonyms, keys and hashes are written.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    hex
}

/// The bytes of hexadecimal text (either case); `None` unless every pair is hexadecimal.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Is the 11-byte window shaped like an identity code: six digits, a century sign, three
/// digits and a letter or digit?
fn shaped(w: &[u8]) -> bool {
    w.len() == 11
        && w[..6].iter().all(u8::is_ascii_digit)
        && b"+-YXWVUABCDEFyxwvuabcdef".contains(&w[6])
        && w[7..10].iter().all(u8::is_ascii_digit)
        && w[10].is_ascii_alphanumeric()
}

/// Does the text contain a valid personal identity code anywhere (not only as the whole
/// text)? Such text must not be stored: the code belongs in the client field, where it is
/// pseudonymised.
pub fn contains_identity_code(text: &str) -> bool {
    let b = text.as_bytes();
    // Written in text, a code stands apart from letters and digits around it; requiring that
    // keeps identifiers such as UUIDs and hexadecimal strings from being taken for one.
    let apart = |i: usize| {
        (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.get(i + 11).is_none_or(|c| !c.is_ascii_alphanumeric())
    };
    b.len() >= 11
        && b.windows(11).enumerate().any(|(i, w)| shaped(w) && apart(i) && validate(w).is_ok())
}

/// The text with everything shaped like an identity code (valid or not) replaced by `…`,
/// for messages that quote what was sent.
pub fn redact_identity_codes(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b.len() - i >= 11 && shaped(&b[i..i + 11]) {
            out.push('…');
            i += 11;
        } else {
            // Copy one character (all of its bytes).
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&text[i..i + len]);
            i += len;
        }
    }
    out
}

/// A fingerprint of the key: HMAC of a fixed text, so that a store can tell whether it is
/// being opened with the key its pseudonyms were made with, without holding the key.
pub fn key_fingerprint(key: &PseudonymKey) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes a key of any length");
    mac.update(b"polku-key-check-v1");
    to_hex(&mac.finalize().into_bytes())
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
}

fn validate(code: &[u8]) -> Result<(), IdentityCodeError> {
    if code.len() != 11 {
        return Err(IdentityCodeError::Length);
    }
    let (day, month, year) = match (digits(&code[0..2]), digits(&code[2..4]), digits(&code[4..6])) {
        (Some(d), Some(m), Some(y)) => (d, m, y),
        _ => return Err(IdentityCodeError::DateDigits),
    };
    let century = match code[6].to_ascii_uppercase() {
        b'+' => 1800,
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => 1900,
        b'A' | b'B' | b'C' | b'D' | b'E' | b'F' => 2000,
        _ => return Err(IdentityCodeError::CenturySign),
    };
    let full_year = century + year;
    let leap = (full_year % 4 == 0 && full_year % 100 != 0) || full_year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(IdentityCodeError::Date),
    };
    if day == 0 || day > days_in_month {
        return Err(IdentityCodeError::Date);
    }
    let individual = digits(&code[7..10]).ok_or(IdentityCodeError::IndividualNumber)?;
    if !(2..=999).contains(&individual) {
        return Err(IdentityCodeError::IndividualNumber);
    }
    let number = (day * 10_000 + month * 100 + year) * 1000 + individual;
    let expected = CHECK_CHARACTERS[(number % 31) as usize];
    if code[10].to_ascii_uppercase() != expected {
        return Err(IdentityCodeError::CheckCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PseudonymKey {
        PseudonymKey::new(vec![byte; 32]).expect("32 bytes")
    }

    #[test]
    fn codes_inside_text_are_found_and_redacted() {
        assert!(contains_identity_code("asiakas 131052-308T ei saapunut"));
        assert!(!contains_identity_code("asiakas 131052-308U ei saapunut"));
        assert!(!contains_identity_code("tapaus 2026-01-05"));
        assert!(contains_identity_code("131052-308T"));
        assert!(contains_identity_code("(131052-308T)"));
        // Inside a longer run of letters and digits it is not a code written in text.
        assert!(!contains_identity_code("a131052-308T"));
        assert!(!contains_identity_code("131052-308T0"));
        assert_eq!(redact_identity_codes("x 131052-308U ö"), "x … ö");
        assert_eq!(redact_identity_codes("äöå"), "äöå");
        assert_ne!(key_fingerprint(&key(1)), key_fingerprint(&key(2)));
        assert_eq!(to_hex(&[0, 0xab, 0x1f]), "00ab1f");
        assert_eq!(from_hex("00AB1f"), Some(vec![0, 0xab, 0x1f]));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }

    #[test]
    fn the_published_test_codes_are_valid() {
        for code in ["131052-308T", "010594Y9021", "020594X903P", "010516B903X", "020504B904H"] {
            assert!(pseudonymise(code, &key(1)).is_ok(), "{code}");
        }
    }

    #[test]
    fn each_kind_of_mistake_is_named_without_repeating_the_code() {
        let cases = [
            ("131052-308", IdentityCodeError::Length),
            ("13105A-308T", IdentityCodeError::DateDigits),
            ("131052G308T", IdentityCodeError::CenturySign),
            ("310252-308T", IdentityCodeError::Date),
            ("290223A308T", IdentityCodeError::Date),
            ("131052-001T", IdentityCodeError::IndividualNumber),
            ("131052-000T", IdentityCodeError::IndividualNumber),
            ("131052-308U", IdentityCodeError::CheckCharacter),
        ];
        for (code, expected) in cases {
            let error = pseudonymise(code, &key(1)).expect_err(code);
            assert_eq!(error, expected, "{code}");
            assert!(!error.to_string().contains(&code[..6]), "{error}");
        }
    }

    #[test]
    fn leap_days_follow_the_century() {
        // 29 February 2000 is a date, 29 February 1900 is not.
        let valid = |date_and_sign: &str| {
            let body = format!("{date_and_sign}002");
            let number: u32 = format!("{}{}", &body[0..6], &body[7..10]).parse().unwrap();
            let code = format!("{body}{}", char::from(CHECK_CHARACTERS[(number % 31) as usize]));
            pseudonymise(&code, &key(1)).is_ok()
        };
        assert!(valid("290200A"));
        assert!(!valid("290200-"));
        assert!(valid("290296-"));
    }

    #[test]
    fn pseudonyms_depend_on_the_key_and_not_on_letter_case() {
        let a = pseudonymise("010594Y9021", &key(1)).unwrap();
        assert_eq!(a, pseudonymise("010594y9021", &key(1)).unwrap());
        assert_ne!(a, pseudonymise("010594Y9021", &key(2)).unwrap());
        assert_ne!(a, pseudonymise("020594X903P", &key(1)).unwrap());
        assert_eq!(a.as_str().len(), 64);
        assert_eq!(Pseudonym::parse(a.as_str()), Some(a.clone()));
        assert!(!a.as_str().contains("010594"));
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_print() {
        assert_eq!(PseudonymKey::new(vec![7; 16]).unwrap_err(), KeyError::TooShort(16));
        assert_eq!(format!("{:?}", key(9)), "PseudonymKey(…)");
    }
}
