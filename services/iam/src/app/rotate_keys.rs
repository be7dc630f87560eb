//! An admin rotates the signing keys: a new key of each kind; the old ones stay published
//! until the tokens they signed have expired.

use crate::App;
use crate::error::IamError;
use crate::keys::SigningAlg;

/// The new key ids: the one access tokens are signed with, and ID tokens' RSA one.
pub(crate) struct Rotated {
    pub eddsa: String,
    pub rs256: String,
}

pub(crate) async fn rotate_keys(app: &App) -> Result<Rotated, IamError> {
    let kids = app.keys.rotate().await?;
    let kid = |alg| kids.get(&alg).cloned().unwrap_or_default();
    Ok(Rotated {
        eddsa: kid(SigningAlg::EdDSA),
        rs256: kid(SigningAlg::RS256),
    })
}
