#![allow(clippy::unwrap_used, clippy::expect_used)]

//! One integration-test binary: every test starts the real `apigw` binary on a random
//! loopback port and talks to it with real clients (aws-sdk-apigatewayv2, raw HTTP).

mod common;

mod apis;
mod auth;
mod authorizers;
mod cloudcontrol;
mod cloudcontrol_types;
mod dataplane;
mod durability;
mod hostile;
mod integrations;
mod lambda;
mod mapping_grammar;
mod routes;
mod stages;
mod wire;
