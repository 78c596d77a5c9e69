//! The code systems marker rules read, and the shape of their codes.

/// The code systems a marker rule may name.
pub const SYSTEMS: &[&str] = &["ICD10", "ICPC2", "SPAT", "SHPT"];

/// What a code of `system` looks like, in words (for a message), or `None` for an unknown system.
pub fn code_shape(system: &str) -> Option<&'static str> {
    Some(match system {
        "ICD10" => "an ICD-10 code is a capital letter and two digits, optionally a dot and more (F32, F32.1); a letter and one digit stands for every code under it (F3)",
        "ICPC2" => "an ICPC-2 code is a capital letter and two digits (P76); a letter alone stands for its chapter (P)",
        "SPAT" => "a visit code is SPAT and four digits (SPAT1331)",
        "SHPT" => "a social-care service code is one to six digits (1071)",
        _ => return None,
    })
}

/// Whether `code` is a code (or a code prefix that stands for the codes under it) of `system`.
pub fn code_fits(system: &str, code: &str) -> bool {
    let b = code.as_bytes();
    let upper = |c: &u8| c.is_ascii_uppercase();
    let digit = |c: &u8| c.is_ascii_digit();
    match system {
        "ICD10" => {
            let (head, tail) = code.split_once('.').map_or((code, None), |(h, t)| (h, Some(t)));
            let h = head.as_bytes();
            let head_ok = (2..=3).contains(&h.len()) && upper(&h[0]) && h[1..].iter().all(digit);
            let tail_ok = tail.is_none_or(|t| {
                h.len() == 3
                    && (1..=4).contains(&t.len())
                    && t.bytes().all(|c| c.is_ascii_alphanumeric())
            });
            head_ok && tail_ok
        }
        "ICPC2" => (b.len() == 1 || b.len() == 3) && upper(&b[0]) && b[1..].iter().all(digit),
        "SPAT" => b.len() == 8 && code.starts_with("SPAT") && b[4..].iter().all(digit),
        "SHPT" => (1..=6).contains(&b.len()) && b.iter().all(digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_shape_of_their_system() {
        for (system, good, bad) in [
            (
                "ICD10",
                &["F32", "F3", "F32.1", "Z63.8"][..],
                &["f32", "F", "F321", "32", "F32."][..],
            ),
            ("ICPC2", &["P76", "P"], &["P7", "76"]),
            ("SPAT", &["SPAT1331"], &["SPAT133", "SPAT13311", "1331"]),
            ("SHPT", &["1071", "7"], &["", "1234567", "A12"]),
        ] {
            for code in good {
                assert!(code_fits(system, code), "{system} {code}");
            }
            for code in bad {
                assert!(!code_fits(system, code), "{system} {code}");
            }
        }
        assert!(code_shape("ICD9").is_none());
    }
}
