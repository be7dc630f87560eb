//! Authentication and authorization for every MCF service.
//!
//! IAM signs short-lived access tokens (JWT, EdDSA, with a `kid`); every service verifies
//! them locally against IAM's JWKS, cached. An unknown `kid` (IAM rotated its key) triggers
//! a refetch, at most once per `min_refetch` so a flood of forged `kid`s cannot turn into a
//! flood of JWKS requests. Only EdDSA is accepted: `alg: none` and algorithm confusion
//! (HS256 signed with the public key) are refused before any key is used.

mod principal;
mod routes;
pub mod secret;
mod verifier;

pub use principal::{Principal, Role};
pub use routes::{
    Access, Answer, Content, Endpoint, FORM, JSON, Operation, Route, RouteRule, Routes, SchemaFn,
    path_params,
};
pub use verifier::{
    AccessClaims, AuthError, Jwk, Jwks, KeySource, Verifier, VerifierConfig, decoding_keys,
};
