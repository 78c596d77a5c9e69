//! "Did you mean" suggestions for misspelt names and keywords.

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = word.chars().count();
    // Short names are too alike to guess between: `v1` and `v3` are different phases.
    let limit = match length {
        0..=3 => 0,
        4..=6 => 1,
        7..=10 => 2,
        _ => 3,
    };
    if limit == 0 {
        return None;
    }
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        // Cheap length filter before the quadratic distance.
        if candidate.chars().count().abs_diff(length) > limit {
            continue;
        }
        let distance = edit_distance(word, candidate);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters. A letter and its unaccented form (`ä` and `a`) count
/// as the same, because a keyboard without Finnish letters is the commonest cause of a miss.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(fold(ca) != fold(cb));
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

fn fold(c: char) -> char {
    match c {
        'ä' | 'å' | 'á' | 'à' => 'a',
        'Ä' | 'Å' => 'a',
        'ö' | 'Ö' => 'o',
        other => other.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let roles = ["terveydenhoitaja", "lääkäri", "psykologi"];
        assert_eq!(closest("terveydenhoitja", roles), Some("terveydenhoitaja"));
        assert_eq!(closest("laakari", roles), Some("lääkäri"));
        assert_eq!(closest("kuraattori", roles), None);
    }
}
