//! `polku-bench forms`: scoring answer sets of every form of a model on one thread.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use polku_dsl::SourceSet;
use polku_engine::form::Kind;

use crate::read_corpus;

/// Scores `sets` random answer sets per form, `repeat` times, and prints answer sets per second
/// (the best run) for each form.
pub fn run(corpus_dir: &Path, sets: usize, repeat: usize) -> Result<()> {
    let corpus = read_corpus(corpus_dir)?;
    let mut sources = SourceSet::new();
    for (path, text) in &corpus {
        sources.add(path.clone(), text.clone());
    }
    let checked = polku_dsl::check(&sources, &[]);
    if checked.has_errors() {
        bail!("the model has errors");
    }
    let model = polku_engine::compile(&checked.files);
    if model.forms.is_empty() {
        bail!("the model has no forms (lomake)");
    }
    println!("| form | questions | answer sets | best time | answer sets/s, one thread |");
    println!("|---|---:|---:|---:|---:|");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n.max(1)
    };
    for form in model.forms.values() {
        // Answer sets as the form reads them: some answers missing, as on paper.
        let answers: Vec<Vec<Option<u64>>> = (0..sets.min(100_000))
            .map(|_| {
                form.questions
                    .iter()
                    .map(|q| {
                        if next(20) == 0 {
                            return None;
                        }
                        Some(match &q.kind {
                            Kind::Scale { min, max } => {
                                u64::from(*min) + next(u64::from(max - min + 1))
                            }
                            Kind::YesNo => next(2),
                            Kind::Choice { options } => 1 << next(options.len() as u64),
                            Kind::Multiple { options } => next(1 << options.len().min(20)),
                            Kind::Text => return None,
                        })
                    })
                    .collect()
            })
            .collect();
        let mut best = f64::MAX;
        let mut proposed = 0usize;
        for _ in 0..repeat.max(1) {
            let started = Instant::now();
            proposed = 0;
            for i in 0..sets {
                let proposal = form.score(&answers[i % answers.len()]);
                proposed += usize::from(proposal.segment.is_some());
            }
            best = best.min(started.elapsed().as_secs_f64());
        }
        println!(
            "| {} | {} | {sets} ({proposed} with a segment) | {:.3} s | {:.0} |",
            form.name,
            form.questions.len(),
            best,
            sets as f64 / best
        );
    }
    Ok(())
}
