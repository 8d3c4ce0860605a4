//! Streaming bodies: the request body counted against the 10 MB payload quota as it flows to
//! the backend, and the response body counted for `$context.responseLength`.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

#[derive(Debug)]
pub struct PayloadTooLarge;

impl std::fmt::Display for PayloadTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body larger than 10 MB")
    }
}

impl std::error::Error for PayloadTooLarge {}

/// Passes the client's body through, failing the stream once more than `limit` bytes arrived.
pub struct LimitedBody {
    inner: Body,
    seen: u64,
    limit: u64,
    exceeded: Arc<AtomicBool>,
}

impl LimitedBody {
    pub fn new(inner: Body, limit: u64, exceeded: Arc<AtomicBool>) -> LimitedBody {
        LimitedBody {
            inner,
            seen: 0,
            limit,
            exceeded,
        }
    }
}

impl http_body::Body for LimitedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.seen > this.limit {
                        this.exceeded.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(Box::new(PayloadTooLarge))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            other => other.map(|o| o.map(|r| r.map_err(|e| Box::new(e) as axum::BoxError))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Counts the bytes sent to the client and runs `on_end` once, when the body is finished or
/// dropped (the client went away): the access-log line is written then.
pub struct CountedBody<B, F: FnOnce(u64)> {
    inner: B,
    sent: Arc<AtomicU64>,
    on_end: Option<F>,
}

impl<B, F: FnOnce(u64)> CountedBody<B, F> {
    pub fn new(inner: B, on_end: F) -> Self {
        CountedBody {
            inner,
            sent: Arc::new(AtomicU64::new(0)),
            on_end: Some(on_end),
        }
    }

    fn finish(&mut self) {
        if let Some(f) = self.on_end.take() {
            f(self.sent.load(Ordering::Relaxed));
        }
    }
}

impl<B, F: FnOnce(u64)> Drop for CountedBody<B, F> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<B, F> http_body::Body for CountedBody<B, F>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    F: FnOnce(u64) + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        match &r {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.sent.fetch_add(d.len() as u64, Ordering::Relaxed);
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.finish(),
            Poll::Pending => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
