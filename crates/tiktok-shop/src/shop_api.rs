//! Shop-scoped endpoints: orders (search with token paging, detail in batches of ≤ 50), fulfillment,
//! logistics and webhook registration. Every call goes through `Transport::call` (rate limit, signing,
//! throttling back-off, one refresh on 105002).

use crate::client::Client;
use crate::error::Error;
use crate::models::fulfillment::{
    BatchShipPackage, BatchShipRequest, BatchShipResponse, MarkShippedRequest, MarkShippedResponse,
    PackageDetail, ShipPackageRequest, ShippingDocument, ShippingDocumentQuery, ShippingProvider,
    ShippingProvidersResponse, UpdateShippingInfoRequest,
};
use crate::models::order::{
    Order, OrderDetailResponse, OrderSearchFilter, OrderSearchPage, OrderSearchResponse,
};
use crate::models::webhook::{WebhookDeletion, WebhookEventType, WebhookList, WebhookRegistration};
use crate::tokens::TokenManager;
use crate::transport::{ApiRequest, Nothing};
use futures::Stream;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

pub const ORDER_SEARCH: &str = "/order/202309/orders/search";
pub const ORDER_DETAIL: &str = "/order/202309/orders";
pub const SHIP_PACKAGE: &str = "/fulfillment/202309/packages/{package_id}/ship";
pub const BATCH_SHIP: &str = "/fulfillment/202309/packages/ship";
pub const MARK_SHIPPED: &str = "/fulfillment/202309/orders/{order_id}/packages";
pub const UPDATE_SHIPPING_INFO: &str = "/fulfillment/202309/orders/{order_id}/shipping_info/update";
pub const PACKAGE_DETAIL: &str = "/fulfillment/202309/packages/{package_id}";
pub const SHIPPING_DOCUMENTS: &str = "/fulfillment/202309/packages/{package_id}/shipping_documents";
pub const SHIPPING_PROVIDERS: &str =
    "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers";
pub const WEBHOOKS: &str = "/event/202309/webhooks";

/// Most order ids per detail call.
pub const MAX_DETAIL_IDS: usize = 50;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Shop-scoped API handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ShopClient {
    client: Client,
    tokens: Arc<TokenManager>,
    cipher: String,
}

/// Ids go into URL paths: allow only what TikTok ids look like so nothing can change the path.
fn path_id(name: &'static str, v: &str) -> Result<String, Error> {
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(v.to_owned())
    } else {
        Err(Error::InvalidArgument {
            name,
            value: v.to_owned(),
            reason: "must be 1-128 of [A-Za-z0-9_-]",
        })
    }
}

fn json_body<T: Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    // Serializing our own request types cannot fail (no maps with non-string keys); map it anyway.
    serde_json::to_vec(v).map_err(|e| Error::InvalidArgument {
        name: "body",
        value: e.to_string(),
        reason: "not serializable",
    })
}

impl ShopClient {
    pub(crate) fn new(client: Client, tokens: Arc<TokenManager>, cipher: String) -> Self {
        Self {
            client,
            tokens,
            cipher,
        }
    }

    pub fn shop_cipher(&self) -> &str {
        &self.cipher
    }

    pub fn tokens(&self) -> &Arc<TokenManager> {
        &self.tokens
    }

    fn req(&self, method: Method, template: &'static str, path: String) -> ApiRequest {
        let idempotent = method == Method::GET;
        ApiRequest {
            method,
            template,
            path,
            query: vec![],
            body: None,
            shop_cipher: Some(self.cipher.clone()),
            idempotent,
        }
    }

    async fn call<T: DeserializeOwned>(&self, req: ApiRequest) -> Result<T, Error> {
        self.client.transport.call(&req, &self.tokens).await
    }

    /// One page of an order search. `page.page_size` must be 1..=100.
    pub async fn search_orders(
        &self,
        filter: &OrderSearchFilter,
        page: &OrderSearchPage,
    ) -> Result<OrderSearchResponse, Error> {
        if page.page_size == 0 || page.page_size > MAX_PAGE_SIZE {
            return Err(Error::InvalidArgument {
                name: "page_size",
                value: page.page_size.to_string(),
                reason: "must be 1..=100",
            });
        }
        let mut req = self.req(Method::POST, ORDER_SEARCH, ORDER_SEARCH.to_owned());
        // Search is a read even though it is a POST.
        req.idempotent = true;
        req.query.push(("page_size", page.page_size.to_string()));
        if let Some(t) = &page.page_token {
            req.query.push(("page_token", t.clone()));
        }
        if let Some(f) = &page.sort_field {
            req.query.push(("sort_field", f.as_str().to_owned()));
        }
        if let Some(o) = &page.sort_order {
            req.query.push(("sort_order", o.as_str().to_owned()));
        }
        // An empty filter is `{}`: send no body rather than signing `{}` (SDKs disagree on it).
        let body = json_body(filter)?;
        if body != b"{}" {
            req.body = Some(body);
        }
        self.call(req).await
    }

    /// Walks every page of a search, following `next_page_token` until it is empty.
    pub fn search_orders_pages(
        &self,
        filter: OrderSearchFilter,
        first: OrderSearchPage,
    ) -> impl Stream<Item = Result<OrderSearchResponse, Error>> + Send + '_ {
        futures::stream::try_unfold(Some(first), move |page| {
            let filter = filter.clone();
            async move {
                let Some(page) = page else { return Ok(None) };
                let resp = self.search_orders(&filter, &page).await?;
                let next = resp.next_token().map(|t| OrderSearchPage {
                    page_token: Some(t.to_owned()),
                    ..page.clone()
                });
                Ok(Some((resp, next)))
            }
        })
    }

    /// Order detail for up to 50 ids.
    pub async fn get_orders(&self, ids: &[String]) -> Result<Vec<Order>, Error> {
        if ids.is_empty() || ids.len() > MAX_DETAIL_IDS {
            return Err(Error::InvalidArgument {
                name: "ids",
                value: format!("{} ids", ids.len()),
                reason: "must be 1..=50 per call",
            });
        }
        for id in ids {
            path_id("order id", id)?;
        }
        let mut req = self.req(Method::GET, ORDER_DETAIL, ORDER_DETAIL.to_owned());
        req.query.push(("ids", ids.join(",")));
        let r: OrderDetailResponse = self.call(req).await?;
        Ok(r.orders)
    }

    /// Order detail for any number of ids, in sequential batches of 50.
    pub async fn get_orders_batched(&self, ids: &[String]) -> Result<Vec<Order>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_DETAIL_IDS) {
            out.extend(self.get_orders(chunk).await?);
        }
        Ok(out)
    }

    pub async fn ship_package(
        &self,
        package_id: &str,
        body: &ShipPackageRequest,
    ) -> Result<(), Error> {
        let id = path_id("package_id", package_id)?;
        let mut req = self.req(
            Method::POST,
            SHIP_PACKAGE,
            format!("/fulfillment/202309/packages/{id}/ship"),
        );
        req.body = Some(json_body(body)?);
        self.call::<Nothing>(req).await.map(|_| ())
    }

    /// Ships several packages; `code: 0` overall with per-package failures in `errors`.
    pub async fn ship_packages(
        &self,
        packages: &[BatchShipPackage],
    ) -> Result<BatchShipResponse, Error> {
        if packages.is_empty() {
            return Err(Error::InvalidArgument {
                name: "packages",
                value: "0 packages".into(),
                reason: "must not be empty",
            });
        }
        for p in packages {
            path_id("package_id", &p.id)?;
        }
        let mut req = self.req(Method::POST, BATCH_SHIP, BATCH_SHIP.to_owned());
        req.body = Some(json_body(&BatchShipRequest { packages })?);
        self.call(req).await
    }

    /// Marks (part of) an order shipped with the seller's own carrier.
    pub async fn mark_package_shipped(
        &self,
        order_id: &str,
        body: &MarkShippedRequest,
    ) -> Result<MarkShippedResponse, Error> {
        let id = path_id("order_id", order_id)?;
        let mut req = self.req(
            Method::POST,
            MARK_SHIPPED,
            format!("/fulfillment/202309/orders/{id}/packages"),
        );
        req.body = Some(json_body(body)?);
        self.call(req).await
    }

    /// Corrects tracking info (only within 72 h of shipping; later → business rule 21011049).
    pub async fn update_shipping_info(
        &self,
        order_id: &str,
        body: &UpdateShippingInfoRequest,
    ) -> Result<(), Error> {
        let id = path_id("order_id", order_id)?;
        let mut req = self.req(
            Method::POST,
            UPDATE_SHIPPING_INFO,
            format!("/fulfillment/202309/orders/{id}/shipping_info/update"),
        );
        req.body = Some(json_body(body)?);
        self.call::<Nothing>(req).await.map(|_| ())
    }

    pub async fn package_detail(&self, package_id: &str) -> Result<PackageDetail, Error> {
        let id = path_id("package_id", package_id)?;
        self.call(self.req(
            Method::GET,
            PACKAGE_DETAIL,
            format!("/fulfillment/202309/packages/{id}"),
        ))
        .await
    }

    /// The shipping document URL (valid 24 h) for a package shipped with TikTok logistics.
    pub async fn shipping_document(
        &self,
        package_id: &str,
        q: &ShippingDocumentQuery,
    ) -> Result<ShippingDocument, Error> {
        let id = path_id("package_id", package_id)?;
        let mut req = self.req(
            Method::GET,
            SHIPPING_DOCUMENTS,
            format!("/fulfillment/202309/packages/{id}/shipping_documents"),
        );
        req.query
            .push(("document_type", q.document_type.as_str().to_owned()));
        if let Some(s) = &q.document_size {
            req.query.push(("document_size", s.as_str().to_owned()));
        }
        if let Some(f) = &q.document_format {
            req.query.push(("document_format", f.as_str().to_owned()));
        }
        self.call(req).await
    }

    /// The document URL and the document's bytes (the label PDF).
    pub async fn download_shipping_document(
        &self,
        package_id: &str,
        q: &ShippingDocumentQuery,
    ) -> Result<(ShippingDocument, Vec<u8>), Error> {
        let doc = self.shipping_document(package_id, q).await?;
        let bytes = self.client.download_document(&doc.doc_url).await?;
        Ok((doc, bytes))
    }

    /// The bytes behind a shipping document's `doc_url` (see [`Client::download_document`]): a GET of
    /// the URL's own host, which need not be the API host. Callers that keep a breaker per host call
    /// [`ShopClient::shipping_document`] and this apart.
    pub async fn download_document(&self, doc_url: &str) -> Result<Vec<u8>, Error> {
        self.client.download_document(doc_url).await
    }

    pub async fn shipping_providers(
        &self,
        delivery_option_id: &str,
    ) -> Result<Vec<ShippingProvider>, Error> {
        let id = path_id("delivery_option_id", delivery_option_id)?;
        let path = format!("/logistics/202309/delivery_options/{id}/shipping_providers");
        let r: ShippingProvidersResponse = self
            .call(self.req(Method::GET, SHIPPING_PROVIDERS, path))
            .await?;
        Ok(r.shipping_providers)
    }

    pub async fn get_webhooks(&self) -> Result<WebhookList, Error> {
        self.call(self.req(Method::GET, WEBHOOKS, WEBHOOKS.to_owned()))
            .await
    }

    /// Registers (or replaces) the address for one event type.
    pub async fn put_webhook(&self, reg: &WebhookRegistration) -> Result<(), Error> {
        let mut req = self.req(Method::PUT, WEBHOOKS, WEBHOOKS.to_owned());
        req.idempotent = true;
        req.body = Some(json_body(reg)?);
        self.call::<Nothing>(req).await.map(|_| ())
    }

    pub async fn delete_webhook(&self, event_type: &WebhookEventType) -> Result<(), Error> {
        let mut req = self.req(Method::DELETE, WEBHOOKS, WEBHOOKS.to_owned());
        req.idempotent = true;
        req.body = Some(json_body(&WebhookDeletion { event_type })?);
        self.call::<Nothing>(req).await.map(|_| ())
    }
}
