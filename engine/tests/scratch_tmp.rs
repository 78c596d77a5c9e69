#![allow(clippy::unwrap_used)]
use polku_engine::event::parse_lines;
use polku_engine::pseudonym::PseudonymKey;
#[test]
fn scratch() {
    let key = PseudonymKey::new(vec![1; 32]).unwrap();
    let base = r#"{"id":"e-2","type":"step_completed","case":"c-1","occurred":"2026-01-20","recorded":"2026-01-20T12:00:00Z","role":"terveydenhoitaja","step":"th"}"#;
    let cases = vec![
        base.replace(r#""step":"th""#, r#""step":5"#),
        base.replace(r#""step":"th""#, r#""step":"th","step":"131052-308T""#),
        base.replace(r#""step":"th""#, r#""step":"131052-308T","step":"th""#),
        base.replace(r#""case":"c-1""#, r#""case":"131052-308T","case":"c-1""#),
        base.replace(r#""step":"th""#, r#""step":"th","x":1"#),
        base.replace(r#""type":"step_completed","#, ""),
        base.replace(r#""type":"step_completed""#, r#""type":5"#),
        base.replace(r#""type":"step_completed""#, r#""type":"stepcompleted""#),
        base.replace(r#""type":"step_completed","#, "").replace(r#""step":"th""#, r#""step":"th","type":"case_closed""#),
        base.replace(r#""type":"step_completed","#, "").replace(r#""step":"th""#, r#""step":"th","type":"x""#),
        base.replace(r#""step":"th""#, r#""step":"th","type":"case_closed""#),
        base.replace(r#""step":"th""#, r#""stepp":"th""#),
        base.replace(r#""case":"c-1""#, r#""case":5"#),
        "\u{feff}".to_owned() + base,
        base.replace(r#""occurred":"2026-01-20""#, r#""occurred":"2026-01-20T10:00:00+99:99""#),
    ];
    for c in cases {
        let (ev, err) = parse_lines(&c, &key);
        println!("{c}\n  -> {:?} {:?}\n", ev.first().map(|e| (&e.case, &e.kind)), err);
    }
}
