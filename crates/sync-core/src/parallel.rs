//! A small parallel map for CPU-bound work on a batch (decoding records), used by the
//! device store and by the server.

/// Below this many items the work stays on the calling thread.
const PARALLEL_FROM: usize = 64;

/// How many threads CPU-bound batch work uses: one per core, at most 8; one in the
/// browser (wasm32), which has no threads here.
#[cfg(target_arch = "wasm32")]
pub fn threads() -> usize {
    1
}

/// How many threads CPU-bound batch work uses: one per core, at most 8; one in the
/// browser (wasm32), which has no threads here.
#[cfg(not(target_arch = "wasm32"))]
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8)
}

/// Apply `f` to every item on up to `available_parallelism` threads (at most 8),
/// keeping the items' order. Small batches run on the calling thread, and every
/// batch does in the browser (wasm32).
pub fn map<T, R, F>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    let threads = threads();
    if items.len() < PARALLEL_FROM || threads < 2 {
        return items.into_iter().map(f).collect();
    }
    spread(items, f, threads)
}

/// The threaded part of [`map`] (never reached in the browser: one thread there).
#[cfg(not(target_arch = "wasm32"))]
fn spread<T, R, F>(items: Vec<T>, f: F, threads: usize) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    let per_thread = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(per_thread).collect());
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            // A panic in `f` is a bug; carry it to the caller like a sequential map would.
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(target_arch = "wasm32")]
fn spread<T, R, F>(items: Vec<T>, f: F, _threads: usize) -> Vec<R>
where
    F: Fn(T) -> R,
{
    items.into_iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_small_and_large() {
        for n in [0, 5, 63, 64, 1000] {
            let out = super::map((0..n).collect(), |x: i32| x * 2);
            assert_eq!(out, (0..n).map(|x| x * 2).collect::<Vec<_>>());
        }
    }
}
