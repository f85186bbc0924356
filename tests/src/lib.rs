//! Support code for the end-to-end scenarios in `tests/tests/`: realistic answers and
//! helpers shared by several scenarios.

pub mod a11y;
pub mod app_page;
pub mod chromium;
pub mod device;
pub mod fleet;
pub mod pg;
pub mod proxy;
pub mod server;
pub mod xlsx;

use forms::Answers;

/// A small deterministic generator (splitmix64), so a scenario can rebuild exactly the
/// answers a child process wrote from its seed alone.
#[derive(Debug, Clone)]
pub struct Seeded(u64);

impl Seeded {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Seeded(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One of the options.
    pub fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len() as u64) as usize]
    }
}

/// A realistic household-survey response of about 40 answers (1 to 4 children), the
/// same for the same seed. Every answer is a valid choice of the seed instrument; the
/// seed itself is kept under `_seed` (a bookkeeping key the forms engine ignores).
pub fn household_survey_answers(seed: u64) -> Answers {
    let mut r = Seeded::new(seed);
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", r.pick(&["en", "es", "other"]))
        .set("home_language", r.pick(&["en", "es", "vi", "ar", "so"]))
        .set(
            "location",
            format!("39.{} -84.{} 0 5", r.below(99_999), r.below(99_999)),
        )
        .set(
            "feel_safe_day",
            r.pick(&[
                "very_safe",
                "somewhat_safe",
                "somewhat_unsafe",
                "very_unsafe",
            ]),
        )
        .set("home_internet", r.pick(&["yes", "no"]))
        .set(
            "home_devices",
            r.pick(&["computer smartphone", "smartphone", "tablet"]),
        )
        .set("_seed", seed as i64);
    let children = 1 + r.below(4) as usize;
    let kids = (0..children)
        .map(|_| {
            let mut c = Answers::new();
            let age = r.below(19) as i64;
            c.set("age_years", age)
                .set("hispanic", r.pick(&["yes", "no", "refuse"]))
                .set("race", r.pick(&["black", "white asian", "aian", "mena"]))
                .set("grade", r.pick(&["none", "prek", "k", "3", "7", "10"]))
                .set(
                    "early_learning",
                    r.pick(&["none", "head_start", "public_prek"]),
                )
                .set(
                    "read_times",
                    r.pick(&["never", "once_twice", "three_plus", "daily"]),
                )
                .set("usual_place", r.pick(&["yes", "no"]))
                .set("place_type", r.pick(&["doctor_office", "clinic", "er"]));
            c
        })
        .collect();
    a.set_repeat("child", kids);
    a
}
