//! Mutating requests in flight per ClientToken, so that concurrent calls with one new token
//! run once: the first claims the token; the others wait for it to finish and then find its
//! stored request (the same event, or ClientTokenConflictException for a different request).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use tokio::sync::watch;

/// (region, client token) → a channel on which nothing is sent: the holder's `Claim` owns the
/// only sender, so dropping it (finished, failed or cancelled) wakes every waiter.
type Registry = Mutex<HashMap<(String, String), watch::Sender<()>>>;

/// One process-wide registry. A process serves one control plane; were there several, calls of
/// different planes with the same token would only wait for one another, never share results
/// (each waiter re-reads its own plane's store once it holds the claim).
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The right to run the request of one ClientToken, held until dropped.
pub(crate) struct Claim {
    key: (String, String),
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&self.key);
    }
}

/// Waits until no other request of `token` in `region` is running, then claims it. No lock is
/// held across an await: waiters only hold a receiver.
pub(crate) async fn claim(region: &str, token: &str) -> Claim {
    let key = (region.to_string(), token.to_string());
    loop {
        let mut running = {
            let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&key) {
                Some(holder) => holder.subscribe(),
                None => {
                    map.insert(key.clone(), watch::channel(()).0);
                    return Claim { key };
                }
            }
        };
        // Ends (with an error: the sender is gone) when the holder drops its claim.
        let _ = running.changed().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_token_and_waiters_run_after_it() {
        let first = claim("r", "t").await;
        let other = claim("r", "u").await; // another token is independent
        let waiter = tokio::spawn(async { claim("r", "t").await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "the token is held");
        drop(first);
        let second = waiter.await.unwrap();
        drop((second, other));
        let map = registry().lock().unwrap();
        assert!(!map.contains_key(&("r".into(), "t".into())), "released");
    }
}
