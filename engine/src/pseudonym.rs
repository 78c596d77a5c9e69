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
//!
//! Where a code does not belong (any other field of an event), [`contains_identity_code`]
//! finds it in the forms a person types, so that the text is refused rather than stored.

use std::fmt;

use hmac::{Hmac, Mac};
use polku_dsl::diagnostic::{identity_code_shapes, IdentityCodeShape};
use sha2::Sha256;

const CHECK_CHARACTERS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// What is wrong with a personal identity code. The variants name the part that is wrong and
/// never carry the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{}", self.say(polku_dsl::Lang::En))]
pub enum IdentityCodeError {
    Length,
    DateDigits,
    CenturySign,
    Date,
    IndividualNumber,
    CheckCharacter,
}

impl IdentityCodeError {
    /// The message in `lang` (`Display` is the English one).
    pub fn say(self, lang: polku_dsl::Lang) -> &'static str {
        use IdentityCodeError::*;
        match (self, lang) {
            (Length, polku_dsl::Lang::Fi) => "henkilötunnuksessa on 11 merkkiä: PPKKVVYNNNT",
            (DateDigits, polku_dsl::Lang::Fi) => {
                "henkilötunnuksen kuusi ensimmäistä merkkiä ovat syntymäaika PPKKVV"
            }
            (CenturySign, polku_dsl::Lang::Fi) => {
                "henkilötunnuksen seitsemäs merkki on välimerkki: + - Y X W V U A B C D E F"
            }
            (Date, polku_dsl::Lang::Fi) => "henkilötunnuksen syntymäaika ei ole päivämäärä",
            (IndividualNumber, polku_dsl::Lang::Fi) => {
                "henkilötunnuksen yksilönumero (merkit 8–10) on väliltä 002–999"
            }
            (CheckCharacter, polku_dsl::Lang::Fi) => "henkilötunnuksen tarkistusmerkki ei täsmää",
            (Length, _) => "a personal identity code has 11 characters: DDMMYYCNNNQ",
            (DateDigits, _) => {
                "the first six characters of a personal identity code are the birth date DDMMYY"
            }
            (CenturySign, _) => {
                "the seventh character of a personal identity code is a century sign: + - Y X W V U A B C D E F"
            }
            (Date, _) => "the birth date of the personal identity code is not a date",
            (IndividualNumber, _) => {
                "the individual number (characters 8–10) of a personal identity code is between 002 and 999"
            }
            (CheckCharacter, _) => "the check character of the personal identity code does not match",
        }
    }
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

    /// A 32-byte key for another purpose (`answers`: the assessment answers kept encrypted),
    /// derived from this one with HMAC-SHA-256 under its own prefix, so that no second secret
    /// has to be kept and no derived key equals a pseudonym.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"polku-derive-v1:");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
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

/// Does the text contain a personal identity code anywhere, in a form a person would type?
/// Such text must not be stored: the code belongs in the client field, where it is
/// pseudonymised.
///
/// The candidates are what [`polku_dsl::diagnostic::identity_code_shapes`] finds: the code
/// as issued, glued to a word (`hetu131052-308T`), without its century sign (`131052308T`, or
/// with a space or another dash in its place). A candidate counts when its birth date exists
/// (in its century, or in either of 1900 and 2000 when the sign is missing) and its individual
/// number is 002–999, and then
///
/// - its check character matches, and letters or digits do not touch it on both sides (inside
///   a hexadecimal hash or a UUID a match is chance); or
/// - the check character is mistyped (`131052-308U`), the code stands apart (nothing
///   alphanumeric touches it on either side), and it has a century sign or ends in a letter:
///   a ten-digit number that fails the check, such as a telephone number, is not a code.
///
/// The rates at which other text is taken for a code are measured in
/// `tests/identity_codes.rs` and given in `docs/tracking.md`.
pub fn contains_identity_code(text: &str) -> bool {
    identity_code_shapes(text).any(|shape| is_typed_code(text, shape))
}

/// The text with everything shaped like an identity code (valid or not) replaced by `…`, for
/// messages that quote what was sent.
pub fn redact_identity_codes(text: &str) -> String {
    polku_dsl::diagnostic::redact_identity_codes(text).into_owned()
}

fn is_typed_code(text: &str, shape: IdentityCodeShape) -> bool {
    let b = text.as_bytes();
    let (Some(date), Some(individual), Some(&check)) = (
        b.get(shape.start..shape.start + 6),
        b.get(shape.end.saturating_sub(4)..shape.end.saturating_sub(1)),
        b.get(shape.end.saturating_sub(1)),
    ) else {
        return false;
    };
    let (Some(day_month_year), Some(individual)) = (digits(date), digits(individual)) else {
        return false;
    };
    let (day, month, year) =
        (day_month_year / 10_000, day_month_year / 100 % 100, day_month_year % 100);
    let centuries: &[u32] = match shape.century_sign.map(century) {
        Some(Some(century)) => &[century],
        Some(None) => return false,
        // Without the sign 29 February is a date when some century has it (2000 does).
        None => &[1900, 2000],
    };
    if !centuries.iter().any(|c| is_date(day, month, c + year)) || !(2..=999).contains(&individual)
    {
        return false;
    }
    let glued_before = text[..shape.start].chars().next_back().is_some_and(char::is_alphanumeric);
    let glued_after = text[shape.end..].chars().next().is_some_and(char::is_alphanumeric);
    if check.to_ascii_uppercase() == check_character(day_month_year, individual) {
        return !(glued_before && glued_after);
    }
    !glued_before && !glued_after && (shape.century_sign.is_some() || check.is_ascii_alphabetic())
}

/// The century of a century sign (upper case).
fn century(sign: u8) -> Option<u32> {
    match sign {
        b'+' => Some(1800),
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => Some(1900),
        b'A' | b'B' | b'C' | b'D' | b'E' | b'F' => Some(2000),
        _ => None,
    }
}

fn is_date(day: u32, month: u32, year: u32) -> bool {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

/// The check character of a code: its date as `DDMMYY` and its individual number.
fn check_character(day_month_year: u32, individual: u32) -> u8 {
    CHECK_CHARACTERS[((day_month_year * 1000 + individual) % 31) as usize]
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
    let day_month_year = digits(&code[0..6]).ok_or(IdentityCodeError::DateDigits)?;
    let full_year = century(code[6].to_ascii_uppercase()).ok_or(IdentityCodeError::CenturySign)?
        + day_month_year % 100;
    if !is_date(day_month_year / 10_000, day_month_year / 100 % 100, full_year) {
        return Err(IdentityCodeError::Date);
    }
    let individual = digits(&code[7..10]).ok_or(IdentityCodeError::IndividualNumber)?;
    if !(2..=999).contains(&individual) {
        return Err(IdentityCodeError::IndividualNumber);
    }
    if code[10].to_ascii_uppercase() != check_character(day_month_year, individual) {
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
        assert!(!contains_identity_code("tapaus 2026-01-05"));
        assert!(contains_identity_code("131052-308T"));
        assert!(contains_identity_code("(131052-308T)"));
        assert_eq!(redact_identity_codes("x 131052-308U ö"), "x … ö");
        assert_eq!(redact_identity_codes("äöå"), "äöå");
        assert_ne!(key_fingerprint(&key(1)), key_fingerprint(&key(2)));
        assert_eq!(to_hex(&[0, 0xab, 0x1f]), "00ab1f");
        assert_eq!(from_hex("00AB1f"), Some(vec![0, 0xab, 0x1f]));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }

    #[test]
    fn codes_are_found_in_the_forms_people_type() {
        for text in [
            "hetu131052-308T",
            "HETU:131052-308T,",
            "131052308T",
            "asiakas 131052308t",
            "131052-308U",
            "asiakas 131052-308U ei saapunut",
            "131052 308T",
            "131052\u{2013}308T",
            "a131052-308T",
            "131052-308T0",
            "131052-308U.",
            // A check digit, written as one run of ten digits.
            "0105949021",
            // 29 February is a date without the century sign: 2000 had it.
            "290200002C extra",
        ] {
            assert!(contains_identity_code(text), "{text}");
        }
        for text in [
            // Not a date, not an individual number, not a century sign.
            "320152-308T",
            "131352-308T",
            "131052-001T",
            "131052-000T",
            // 1900 had no 29 February.
            "290200-002C",
            // A mistyped check character touching a word, or as a digit of a number.
            "131052-308Ux",
            "hetu131052-308U",
            "0105949022",
            "1310523081",
            // A longer number.
            "91310523085",
            // Inside a longer identifier even a matching check character is chance.
            "ab131052-308Tcd",
            "2026-01-05T09:30:00+02:00",
        ] {
            assert!(!contains_identity_code(text), "{text}");
        }
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
