//! Fetching form versions, the last step of a sync: the device names the versions it
//! holds (built in and fetched before) and keeps the published ones it lacks, so a
//! version published on the server reaches every device at its next sync.

use super::client::{Run, SyncClient};
use super::SyncError;
use crate::protocol::{FormVersion, FormsRequest, FormsResponse, PROTOCOL_VERSION};
use crate::store::StoredForm;

/// Most rounds of one fetch (each brings a few definitions): a guard against a server
/// that keeps saying `more`.
const MAX_ROUNDS: usize = 100;

/// The form versions built into this app (read from the instruments once, not at
/// every sync).
pub(crate) fn built_in() -> Vec<FormVersion> {
    static BUILT_IN: std::sync::OnceLock<Vec<FormVersion>> = std::sync::OnceLock::new();
    BUILT_IN
        .get_or_init(|| {
            forms::instruments::seed_forms()
                .into_iter()
                .map(|f| FormVersion {
                    id: f.id,
                    version: f.version,
                })
                .collect()
        })
        .clone()
}

impl SyncClient {
    /// Fetch and keep the published form versions this device lacks.
    pub(super) async fn fetch_forms(&self, run: &mut Run<'_>) -> Result<(), SyncError> {
        let mut have = built_in();
        have.extend(
            run.store()
                .stored_forms()?
                .into_iter()
                .map(|f| FormVersion {
                    id: f.id,
                    version: f.version,
                }),
        );
        for _ in 0..MAX_ROUNDS {
            run.check_cancel()?;
            let request = FormsRequest {
                v: PROTOCOL_VERSION,
                have: have.clone(),
            };
            let (response, bytes): (FormsResponse, u64) = self
                .transport
                .post("/v1/sync/forms", &request, run.cancel)
                .await?;
            run.report.bytes += bytes;
            let fresh: Vec<StoredForm> = response
                .forms
                .into_iter()
                .filter(|f| !have.iter().any(|h| h.id == f.id && h.version == f.version))
                .map(|f| StoredForm {
                    id: f.id,
                    version: f.version,
                    definition: f.definition,
                })
                .collect();
            if fresh.is_empty() {
                // Nothing new (or a server repeating itself): done either way.
                return Ok(());
            }
            run.store().save_forms(&fresh)?;
            run.report.forms_received += fresh.len() as u64;
            have.extend(fresh.into_iter().map(|f| FormVersion {
                id: f.id,
                version: f.version,
            }));
            if !response.more {
                return Ok(());
            }
        }
        Ok(())
    }
}
