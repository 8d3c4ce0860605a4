//! Throttling (http-api-throttling; data-plane.md §9.1): token buckets per (stage, route key)
//! from the stage's `routeSettings[routeKey]` / `defaultRouteSettings`, and the account-level
//! default of 10,000 requests per second with a 5,000-request burst. Over the limit the gateway
//! answers `429 {"message":"Too Many Requests"}`.
//!
//! Callers pass the current [`Instant`] in, so tests drive time. Each bucket is a `Mutex`
//! around two numbers: uncontended locking is a few nanoseconds, and buckets are created once
//! per routing snapshot, never on the request path.
//!
//! Inferred (docs/decisions.md): a route's limit takes each field from `routeSettings[routeKey]`,
//! else `defaultRouteSettings`, else the account default; with neither rate nor burst set the
//! route has no bucket of its own. `defaultRouteSettings` limits apply to each route separately.
//! A rate of `0` or a burst of `0` rejects every request (the usual way to switch a route off).

use rustc_hash::FxHashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use apigw_model::Stage;

/// Steady-state rate and bucket size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Tokens added per second.
    pub rate_per_sec: f64,
    /// Bucket capacity (and the initial fill).
    pub burst: u32,
}

/// "10,000 requests per second (RPS) with an additional burst capacity ... maximum bucket
/// capacity of 5,000 requests" per account and Region.
pub const ACCOUNT_DEFAULT: Limits = Limits {
    rate_per_sec: 10_000.0,
    burst: 5_000,
};

impl Limits {
    /// Whether nothing can ever pass (rate or burst of zero).
    pub fn blocks_all(&self) -> bool {
        self.burst == 0 || self.rate_per_sec.is_nan() || self.rate_per_sec <= 0.0
    }
}

/// The limits configured for `route_key` on `stage`, or `None` when the stage sets none
/// (only the account-level bucket applies).
pub fn route_limits(stage: &Stage, route_key: &str) -> Option<Limits> {
    let route = stage.route_settings.get(route_key);
    let default = &stage.default_route_settings;
    let rate = route
        .and_then(|r| r.throttling_rate_limit)
        .or(default.throttling_rate_limit);
    let burst = route
        .and_then(|r| r.throttling_burst_limit)
        .or(default.throttling_burst_limit);
    if rate.is_none() && burst.is_none() {
        return None;
    }
    Some(Limits {
        rate_per_sec: rate.unwrap_or(ACCOUNT_DEFAULT.rate_per_sec),
        burst: burst
            .map(|b| u32::try_from(b.max(0)).unwrap_or(u32::MAX))
            .unwrap_or(ACCOUNT_DEFAULT.burst),
    })
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    last: Option<Instant>,
}

/// A token bucket: starts full (`burst` tokens), refills at `rate_per_sec`, one token per
/// request.
#[derive(Debug)]
pub struct TokenBucket {
    limits: Limits,
    state: Mutex<BucketState>,
}

impl TokenBucket {
    pub fn new(limits: Limits) -> TokenBucket {
        TokenBucket {
            limits,
            state: Mutex::new(BucketState {
                tokens: f64::from(limits.burst),
                last: None,
            }),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Takes a token if one is available at `now`. `false` means: answer 429.
    pub fn try_acquire(&self, now: Instant) -> bool {
        if self.limits.blocks_all() {
            return false;
        }
        let capacity = f64::from(self.limits.burst);
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(last) = s.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            s.tokens = (s.tokens + elapsed * self.limits.rate_per_sec).min(capacity);
        }
        // Time never runs backwards for the bucket.
        if s.last.is_none_or(|last| now > last) {
            s.last = Some(now);
        }
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The route buckets of one stage, built once per routing snapshot.
#[derive(Debug, Default)]
pub struct StageThrottle {
    routes: FxHashMap<String, Arc<TokenBucket>>,
}

impl StageThrottle {
    /// Buckets for each of `route_keys` that has limits on `stage`.
    pub fn new<'a>(stage: &Stage, route_keys: impl IntoIterator<Item = &'a str>) -> StageThrottle {
        let routes = route_keys
            .into_iter()
            .filter_map(|k| {
                route_limits(stage, k).map(|l| (k.to_owned(), Arc::new(TokenBucket::new(l))))
            })
            .collect();
        StageThrottle { routes }
    }

    /// Keeps the previous snapshot's bucket (and its remaining tokens) for every route whose
    /// limits did not change, so a control-plane change does not refill buckets.
    pub fn carry_over(&mut self, previous: &StageThrottle) {
        for (key, bucket) in &mut self.routes {
            if let Some(old) = previous.routes.get(key) {
                if old.limits == bucket.limits {
                    *bucket = Arc::clone(old);
                }
            }
        }
    }

    pub fn bucket(&self, route_key: &str) -> Option<&TokenBucket> {
        self.routes.get(route_key).map(Arc::as_ref)
    }

    /// `true` when the route may proceed (always, when it has no limits of its own). The
    /// clock is read only for a route that has a bucket.
    pub fn try_acquire(&self, route_key: &str, now: impl FnOnce() -> Instant) -> bool {
        if self.routes.is_empty() {
            return true;
        }
        self.bucket(route_key)
            .is_none_or(|bucket| bucket.try_acquire(now()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use apigw_model::{RouteSettings, Timestamp};

    use super::*;

    fn stage(default: RouteSettings, routes: &[(&str, RouteSettings)]) -> Stage {
        Stage {
            stage_name: "dev".into(),
            access_log_settings: None,
            api_gateway_managed: None,
            auto_deploy: None,
            client_certificate_id: None,
            created_date: Timestamp(0),
            default_route_settings: default,
            deployment_id: None,
            description: None,
            last_deployment_status_message: None,
            last_updated_date: Timestamp(0),
            route_settings: routes
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            stage_variables: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    fn limits(rate: Option<f64>, burst: Option<i64>) -> RouteSettings {
        RouteSettings {
            throttling_rate_limit: rate,
            throttling_burst_limit: burst,
            ..Default::default()
        }
    }

    fn count(bucket: &TokenBucket, now: Instant, tries: usize) -> usize {
        (0..tries).filter(|_| bucket.try_acquire(now)).count()
    }

    #[test]
    fn burst_then_steady_rate() {
        let b = TokenBucket::new(Limits {
            rate_per_sec: 10.0,
            burst: 5,
        });
        let t0 = Instant::now();
        assert_eq!(count(&b, t0, 20), 5);
        // 100 ms at 10 rps refills one token.
        assert_eq!(count(&b, t0 + Duration::from_millis(100), 5), 1);
        assert_eq!(count(&b, t0 + Duration::from_millis(150), 5), 0);
        assert_eq!(count(&b, t0 + Duration::from_millis(350), 5), 2);
        // A long pause refills to the burst, not beyond.
        assert_eq!(count(&b, t0 + Duration::from_secs(60), 100), 5);
    }

    #[test]
    fn rate_above_burst_like_the_doc_example() {
        // `{"GET /pets":{"ThrottlingBurstLimit":100,"ThrottlingRateLimit":2000}}`
        let b = TokenBucket::new(Limits {
            rate_per_sec: 2000.0,
            burst: 100,
        });
        let t0 = Instant::now();
        assert_eq!(count(&b, t0, 1000), 100);
        assert_eq!(count(&b, t0 + Duration::from_millis(10), 1000), 20);
        assert_eq!(count(&b, t0 + Duration::from_secs(1), 1000), 100);
    }

    #[test]
    fn fractional_rates() {
        let b = TokenBucket::new(Limits {
            rate_per_sec: 0.5,
            burst: 1,
        });
        let t0 = Instant::now();
        assert!(b.try_acquire(t0));
        assert!(!b.try_acquire(t0 + Duration::from_millis(1999)));
        assert!(b.try_acquire(t0 + Duration::from_millis(2000)));
    }

    #[test]
    fn zero_rate_or_zero_burst_blocks_everything() {
        let t0 = Instant::now();
        for l in [
            Limits {
                rate_per_sec: 0.0,
                burst: 100,
            },
            Limits {
                rate_per_sec: 100.0,
                burst: 0,
            },
        ] {
            let b = TokenBucket::new(l);
            assert_eq!(count(&b, t0, 10), 0);
            assert_eq!(count(&b, t0 + Duration::from_secs(10), 10), 0);
        }
    }

    #[test]
    fn time_going_backwards_does_not_mint_tokens() {
        let b = TokenBucket::new(Limits {
            rate_per_sec: 1.0,
            burst: 1,
        });
        let t0 = Instant::now() + Duration::from_secs(10);
        assert!(b.try_acquire(t0));
        assert!(!b.try_acquire(t0 - Duration::from_secs(5)));
        assert!(!b.try_acquire(t0 + Duration::from_millis(500)));
        assert!(b.try_acquire(t0 + Duration::from_secs(1)));
    }

    #[test]
    fn limits_from_stage_settings() {
        let s = stage(
            limits(Some(50.0), Some(10)),
            &[
                ("GET /pets", limits(Some(2000.0), Some(100))),
                ("POST /pets", limits(None, Some(3))),
                ("DELETE /pets", RouteSettings::default()),
            ],
        );
        assert_eq!(
            route_limits(&s, "GET /pets"),
            Some(Limits {
                rate_per_sec: 2000.0,
                burst: 100
            })
        );
        // Field by field: burst from the route, rate from the stage default.
        assert_eq!(
            route_limits(&s, "POST /pets"),
            Some(Limits {
                rate_per_sec: 50.0,
                burst: 3
            })
        );
        assert_eq!(
            route_limits(&s, "DELETE /pets"),
            Some(Limits {
                rate_per_sec: 50.0,
                burst: 10
            })
        );
        assert_eq!(
            route_limits(&s, "$default"),
            Some(Limits {
                rate_per_sec: 50.0,
                burst: 10
            })
        );

        let bare = stage(
            RouteSettings {
                detailed_metrics_enabled: Some(false),
                ..Default::default()
            },
            &[("GET /a", limits(Some(5.0), None))],
        );
        assert_eq!(route_limits(&bare, "GET /b"), None);
        assert_eq!(
            route_limits(&bare, "GET /a"),
            Some(Limits {
                rate_per_sec: 5.0,
                burst: 5000
            })
        );
    }

    #[test]
    fn stage_throttle_is_per_route_and_survives_snapshot_swaps() {
        let s = stage(
            limits(Some(1.0), Some(2)),
            &[("GET /off", limits(Some(0.0), Some(0)))],
        );
        let keys = ["GET /a", "GET /b", "GET /off"];
        let mut t = StageThrottle::new(&s, keys);
        let t0 = Instant::now();
        assert!(t.try_acquire("GET /a", || t0));
        assert!(t.try_acquire("GET /a", || t0));
        assert!(!t.try_acquire("GET /a", || t0));
        // Each route has its own bucket with the default limits.
        assert!(t.try_acquire("GET /b", || t0));
        assert!(!t.try_acquire("GET /off", || t0));
        // Unknown route key: no bucket, not throttled here.
        assert!(t.try_acquire("GET /other", || t0));

        // Same limits in the next snapshot keep the drained bucket.
        let mut next = StageThrottle::new(&s, keys);
        next.carry_over(&t);
        assert!(!next.try_acquire("GET /a", || t0));
        // Changed limits start fresh.
        let s2 = stage(limits(Some(1.0), Some(3)), &[]);
        let mut changed = StageThrottle::new(&s2, keys);
        changed.carry_over(&t);
        assert!(changed.try_acquire("GET /a", || t0));
        t = changed;
        assert!(t.bucket("GET /a").is_some());
    }

    #[test]
    fn concurrent_acquires_never_exceed_the_burst() {
        let b = Arc::new(TokenBucket::new(Limits {
            rate_per_sec: 1e-9,
            burst: 1000,
        }));
        let now = Instant::now();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || count(&b, now, 500))
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 1000);
    }
}
