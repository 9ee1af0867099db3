//! Bounded fuzzing: thousands of mutations of the seed and fixture files through both
//! parsers, with a fixed seed and a time budget; any panic fails the test.

use std::time::{Duration, Instant};

use drover_jobspec::VarInputs;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{fixture, seed};

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "${",
    "%{",
    "}",
    "=",
    "\n",
    " ",
    "-1",
    "0",
    "1e99",
    "99999999999999999999",
    "dynamic \"x\" {",
    "variable \"v\" {",
    "locals {",
    "var.",
    "local.",
    "<<EOT\n",
    "<<-EOT\n",
    "EOT\n",
    "for x in",
    ":",
    "?",
    "null",
    "true",
    "upper(",
    ")",
    ",",
    "\t",
    "#",
    "//",
    "/*",
    "*/",
    "...",
    "\\",
    "é",
    "\u{0}",
    "job \"j\" {",
    "group \"g\" {",
    "task \"t\" {",
    "port \"p\" {",
    "content {",
];

fn mutate(rng: &mut StdRng, text: &str) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..rng.random_range(1..4) {
        let len = s.len().max(1);
        match rng.random_range(0..4) {
            0 if !s.is_empty() => {
                let a = rng.random_range(0..s.len());
                let b = (a + rng.random_range(1..20)).min(s.len());
                s.drain(a..b);
            }
            1 => {
                let at = rng.random_range(0..len).min(s.len());
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                s.splice(at..at, t.chars());
            }
            2 if !s.is_empty() => {
                let a = rng.random_range(0..s.len());
                let b = (a + rng.random_range(1..80)).min(s.len());
                let chunk: Vec<char> = s[a..b].to_vec();
                let at = rng.random_range(0..s.len());
                s.splice(at..at, chunk);
            }
            _ if !s.is_empty() => {
                let a = rng.random_range(0..s.len());
                s[a] = TOKENS[rng.random_range(0..TOKENS.len())]
                    .chars()
                    .next()
                    .unwrap_or('x');
            }
            _ => {}
        }
    }
    s.into_iter().collect()
}

#[test]
fn mutated_inputs_never_panic() {
    let mut corpus = Vec::new();
    for p in [seed("job-bvc.hcl"), seed("job-tetris.hcl")] {
        corpus.push(std::fs::read_to_string(p).expect("seed"));
    }
    for name in ["full.hcl", "batch.hcl", "dispatch.hcl", "hcl2.hcl"] {
        corpus.push(std::fs::read_to_string(fixture(name)).expect("fixture"));
    }
    let json: Vec<String> = ["full.golden.json", "hcl2.golden.json"]
        .iter()
        .filter_map(|n| std::fs::read_to_string(fixture(n)).ok())
        .collect();
    let mut rng = StdRng::seed_from_u64(0x0d20_e5ec);
    let deadline = Instant::now() + Duration::from_secs(8);
    let vars = VarInputs::default();
    let mut cases = 0;
    let mut rejected = 0;
    while cases < 4000 && Instant::now() < deadline {
        let base = &corpus[cases % corpus.len()];
        let text = mutate(&mut rng, base);
        if drover_jobspec::parse_hcl("fuzz.hcl", &text, &vars).is_err() {
            rejected += 1;
        }
        if !json.is_empty() && cases % 4 == 0 {
            let j = mutate(&mut rng, &json[cases % json.len()]);
            let _ = drover_jobspec::parse_json("fuzz.json", &j);
        }
        cases += 1;
    }
    assert!(cases >= 500, "only {cases} cases ran in the time budget");
    assert!(
        rejected > 0,
        "no mutation was rejected: the mutator is broken"
    );
}
