//! The typed client of Inventory's API (tests, the portal, other services' sync calls).

use client::{Client, ClientError, Method};
use contracts::{ConsumableId, KitId, ServiceTypeId};

use crate::app::KitView;
use crate::domain::{Bom, BomSpec, KitState, NewConsumable, Receipt, Stock, StockMove};
use crate::routes::{ContractorView, KitQuery};

/// Inventory's API over a [`Client`] (its base is Inventory's, e.g. `…/api/inventory`).
#[derive(Clone)]
pub struct InventoryClient(pub Client);

impl InventoryClient {
    /// `POST /consumables`.
    pub async fn add_consumable(&self, spec: &NewConsumable) -> Result<Stock, ClientError> {
        self.0.post("/consumables", spec).await
    }

    /// `GET /consumables`.
    pub async fn stock(&self) -> Result<Vec<Stock>, ClientError> {
        self.0.get("/consumables").await
    }

    /// `POST /consumables/{id}/receipts`; with `key` as `Idempotency-Key`.
    pub async fn receive(
        &self,
        id: ConsumableId,
        quantity: i64,
        key: Option<&str>,
    ) -> Result<Stock, ClientError> {
        let mut request = self
            .0
            .request(Method::POST, &format!("/consumables/{id}/receipts"))
            .json(&Receipt { quantity });
        if let Some(key) = key {
            request = request.idempotency_key(key);
        }
        request.send().await?.json()
    }

    /// `GET /consumables/{id}/moves`.
    pub async fn moves(&self, id: ConsumableId) -> Result<Vec<StockMove>, ClientError> {
        self.0.get(&format!("/consumables/{id}/moves")).await
    }

    /// `PUT /boms/{service_type_id}`.
    pub async fn write_bom(
        &self,
        service_type: ServiceTypeId,
        spec: &BomSpec,
    ) -> Result<Bom, ClientError> {
        self.0.put(&format!("/boms/{service_type}"), spec).await
    }

    /// `GET /boms/{service_type_id}`.
    pub async fn bom(&self, service_type: ServiceTypeId) -> Result<Bom, ClientError> {
        self.0.get(&format!("/boms/{service_type}")).await
    }

    /// `GET /kits`, only those in `state` if given.
    pub async fn kits(&self, state: Option<KitState>) -> Result<Vec<KitView>, ClientError> {
        self.0
            .request(Method::GET, "/kits")
            .query(&KitQuery { state, mine: false })
            .send()
            .await?
            .json()
    }

    /// `GET /kits?mine=true`: the caller's own kits (those they are the responsible supply
    /// employee of), only those in `state` if given.
    pub async fn my_kits(&self, state: Option<KitState>) -> Result<Vec<KitView>, ClientError> {
        self.0
            .request(Method::GET, "/kits")
            .query(&KitQuery { state, mine: true })
            .send()
            .await?
            .json()
    }

    /// `GET /kits/{id}`.
    pub async fn kit(&self, id: KitId) -> Result<KitView, ClientError> {
        self.0.get(&format!("/kits/{id}")).await
    }

    /// `GET /kits/{id}/form`: the job acceptance form, PDF bytes.
    pub async fn form(&self, id: KitId) -> Result<Vec<u8>, ClientError> {
        let reply = self
            .0
            .request(Method::GET, &format!("/kits/{id}/form"))
            .send()
            .await?;
        Ok(reply.body.to_vec())
    }

    /// `POST /kits/{id}/cookie`: order a failed fortune cookie again.
    pub async fn reorder_cookie(&self, id: KitId) -> Result<KitView, ClientError> {
        self.0.post_empty(&format!("/kits/{id}/cookie")).await
    }

    /// `POST /cookies/callback` as the contractor sends it: `body` with `signature` (the
    /// `X-Cookie-Signature` header) if given.
    pub async fn cookie_callback(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<(), ClientError> {
        let mut request = self
            .0
            .request(Method::POST, "/cookies/callback")
            .body("application/json", body.to_vec());
        if let Some(signature) = signature {
            request = request.header(crate::contractor::SIGNATURE_HEADER, signature);
        }
        request.send().await?;
        Ok(())
    }

    /// `GET /ops/contractor` (admins): the contractor line and its circuit breaker.
    pub async fn contractor(&self) -> Result<ContractorView, ClientError> {
        self.0.get("/ops/contractor").await
    }

    /// `POST /kits/{id}/issue`: the Issued button.
    pub async fn issue(&self, id: KitId) -> Result<KitView, ClientError> {
        self.0
            .request(Method::POST, &format!("/kits/{id}/issue"))
            .send()
            .await?
            .json()
    }
}
