//! Token generate / parse / verify throughput, in process (no store).

use std::hint::black_box;
use std::time::{Duration, Instant};

use shared::model::SecretMatch;
use shared::testing::sample_key_with_token;
use shared::token::{KeyKind, Token};
use time::OffsetDateTime;

pub struct Throughput {
    pub name: &'static str,
    pub what: &'static str,
    pub ops: usize,
    pub elapsed: Duration,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
    pub fn micros_per_op(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.ops as f64
    }
}

fn time(
    name: &'static str, what: &'static str, ops: usize, mut f: impl FnMut(usize),
) -> Throughput {
    for i in 0..ops / 10 {
        f(i);
    }
    let started = Instant::now();
    for i in 0..ops {
        f(i);
    }
    Throughput { name, what, ops, elapsed: started.elapsed() }
}

pub fn run(ops: usize) -> Vec<Throughput> {
    let tokens: Vec<String> = (0..1024)
        .map(|i| {
            let kind = if i % 2 == 0 { KeyKind::Project } else { KeyKind::Team };
            Token::generate(kind).expose().to_owned()
        })
        .collect();
    let (key, token) = sample_key_with_token(KeyKind::Project);
    let now = OffsetDateTime::now_utc();
    vec![
        time(
            "generate",
            "12-char prefix + 32-char secret from the OS CSPRNG, CRC32 checksum",
            ops,
            |_| {
                black_box(Token::generate(KeyKind::Project));
            },
        ),
        time(
            "parse",
            "format + checksum (what refuses a malformed key without a store call)",
            ops,
            |i| {
                black_box(Token::parse(black_box(&tokens[i % tokens.len()])).ok());
            },
        ),
        time(
            "verify",
            "SHA-256 of the token + constant-time compare with the stored hash",
            ops,
            |_| {
                let m = key.match_secret(black_box(&token), now);
                assert_eq!(m, SecretMatch::Current);
            },
        ),
    ]
}
