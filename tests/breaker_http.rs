//! An HTTP service behind the breaker: a 5xx answer is `Ok` to tower, yet
//! it must count against the backend, and so must a timeout.
#![cfg(feature = "http")]

use std::time::Duration;

use http::{Request, Response, StatusCode};
use seawall::breaker::{BreakerLayer, CircuitBreaker, State};
use seawall::classify::{Classify, HttpClassifier, Outcome};
use seawall::clock::ManualClock;
use seawall::BoxError;
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};

fn breaker() -> CircuitBreaker {
    CircuitBreaker::builder()
        .name("users-api")
        .count_window(10)
        .minimum_number_of_calls(10)
        .clock(ManualClock::new())
        .build()
        .unwrap()
}

/// A hyper-style backend answering every request with `status`.
fn answering(
    status: u16,
) -> impl Service<Request<()>, Response = Response<()>, Error = std::io::Error> + Clone {
    service_fn(move |_req: Request<()>| async move {
        Ok(Response::builder().status(status).body(()).unwrap())
    })
}

/// Sends ten requests, returning the statuses (or errors) they got.
async fn ten_answers<S>(mut svc: S) -> Vec<Result<StatusCode, BoxError>>
where
    S: Service<Request<()>, Response = Response<()>, Error = BoxError>,
{
    let mut answers = Vec::new();
    for _ in 0..10 {
        let res = svc.ready().await.unwrap().call(Request::new(())).await;
        answers.push(res.map(|r| r.status()));
    }
    answers
}

#[tokio::test]
async fn ten_server_errors_open_the_http_breaker() {
    // (status, opens): 5xx and overload answers count, 4xx and 2xx do not.
    let cases = [
        (500, true),
        (502, true),
        (503, true),
        (429, true),
        (404, false),
        (200, false),
    ];
    for (status, opens) in cases {
        let b = breaker();
        let answers = ten_answers(BreakerLayer::http(b.clone()).layer(answering(status))).await;
        assert!(answers
            .iter()
            .all(|a| a.as_ref().is_ok_and(|s| s.as_u16() == status)));
        let expected = if opens { State::Open } else { State::Closed };
        assert_eq!(b.state(), expected, "status {status}");
    }
}

#[tokio::test]
async fn the_plain_layer_sees_only_errors() {
    // The reason `BreakerLayer::http` exists: to tower a 500 is `Ok`.
    let b = breaker();
    ten_answers(BreakerLayer::new(b.clone()).layer(answering(500))).await;
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn timeouts_inside_the_breaker_count_as_overload() {
    let b = breaker();
    let hanging = service_fn(|_req: Request<()>| async {
        std::future::pending::<Result<Response<()>, std::io::Error>>().await
    });
    let mut svc = ServiceBuilder::new()
        .layer(BreakerLayer::http(b.clone()))
        .timeout(Duration::from_secs(1))
        .service(hanging);
    for _ in 0..10 {
        let err = svc
            .ready()
            .await
            .unwrap()
            .call(Request::new(()))
            .await
            .unwrap_err();
        assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    }
    assert_eq!(b.state(), State::Open);
    let refused = svc
        .ready()
        .await
        .unwrap()
        .call(Request::new(()))
        .await
        .unwrap_err();
    assert!(seawall::rejection(&*refused).is_some());
}

#[test]
fn errors_are_told_apart_from_timeouts() {
    let classify = HttpClassifier::new();
    let ok = Response::new(());
    let elapsed: BoxError = Box::new(tower::timeout::error::Elapsed::new());
    let io_timeout: BoxError = Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut));
    let refused: BoxError = Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
    let cases: [(&BoxError, Outcome); 3] = [
        (&elapsed, Outcome::Overload),
        (&io_timeout, Outcome::Overload),
        (&refused, Outcome::Failure),
    ];
    for (err, expected) in cases {
        let result: Result<&Response<()>, &BoxError> = Err(err);
        assert_eq!(classify.classify(result), expected, "{err}");
    }
    let bare = tower::timeout::error::Elapsed::new();
    assert_eq!(
        classify.classify(Err::<&Response<()>, _>(&bare)),
        Outcome::Overload
    );
    assert_eq!(
        classify
            .timeouts(Outcome::Failure)
            .classify(Err::<&Response<()>, _>(&bare)),
        Outcome::Failure
    );
    assert_eq!(classify.classify(Ok::<_, &BoxError>(&ok)), Outcome::Success);
}
