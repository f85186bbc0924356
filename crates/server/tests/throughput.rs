//! The server's throughput check, ignored by default: every request goes through the
//! real router and a real SQLite file in a temporary directory.

mod common;

use common::*;
use forms::Answers;
use sync_core::protocol::PushStatus;
use sync_core::RecordKind;

/// Throughput check (run with `--ignored --nocapture`, ideally `--release`): 5 pushes of
/// 1,000 new survey responses from one device, then a fresh pull of everything.
#[tokio::test]
#[ignore]
async fn throughput() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let worker_id = s.user_id(&worker);
    let mut batches = Vec::new();
    for _ in 0..5 {
        let mut batch = Vec::new();
        for i in 0..1000 {
            // A realistic household survey: ~40 answers, 3 children.
            let mut a = Answers::new();
            let children = (0..3)
                .map(|c| {
                    let mut child = Answers::new();
                    child
                        .set("age_years", ((i + c * 5) % 18) as i64)
                        .set("hispanic", "no")
                        .set("race", "black white")
                        .set("grade", "3")
                        .set("read_times", "three_plus")
                        .set("early_learning", "head_start");
                    child
                })
                .collect();
            a.set("consent", "yes")
                .set("has_child", "yes")
                .set("interview_language", "en")
                .set("home_language", "es")
                .set("location", "39.1 -84.5 0 5")
                .set("feel_safe_day", "somewhat_safe")
                .set("home_internet", "yes")
                .set("home_devices", "computer smartphone")
                .set_repeat("child", children);
            let (d, c) = record(
                &worker_id,
                RecordKind::Response,
                east(),
                Some("household_survey"),
                &a,
            );
            batch.push((d.id(), c));
        }
        batches.push(batch);
    }
    let start = std::time::Instant::now();
    for batch in &batches {
        let refs: Vec<_> = batch.iter().map(|(id, c)| (*id, c)).collect();
        let r = s.push_ok(&worker, &refs).await;
        assert!(
            r.results.iter().all(|r| r.status == PushStatus::Accepted),
            "{:?}",
            r.results[0]
        );
    }
    let secs = start.elapsed().as_secs_f64();
    println!("ingest: {:.0} responses/s", 5000.0 / secs);
    let start = std::time::Instant::now();
    let (pages, _) = pull_all(&s, &worker, 5000, 4 << 20).await;
    let n: usize = pages.iter().map(|p| p.changes.len()).sum();
    assert_eq!(n, 5000);
    println!(
        "pull: {:.0} records/s",
        n as f64 / start.elapsed().as_secs_f64()
    );
}
