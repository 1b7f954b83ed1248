//! Client overhead per call, without the network: sign a search request (query + JSON body), encode the
//! filter, and decode a 50-order page through the envelope into typed orders (exact decimals).
//! Run: `cargo bench -p tiktok-shop --bench client_overhead`.

use std::hint::black_box;
use std::time::Instant;
use tiktok_shop::models::order::{OrderSearchFilter, OrderSearchResponse};
use tiktok_shop::{decode_envelope, signing};

fn order(i: usize) -> serde_json::Value {
    let line_items: Vec<serde_json::Value> = (0..3)
        .map(|j| {
            serde_json::json!({
                "id": format!("57768401960331{i:04}{j}"), "sku_id": "1729382256910315622", "product_id": "1729382256910250086",
                "product_name": "Hydrating Face Serum 30ml", "sku_name": "30ml", "seller_sku": "SERUM-30",
                "currency": "USD", "original_price": "24.99", "sale_price": "19.99",
                "display_status": "AWAITING_SHIPMENT", "package_id": format!("11529215046068{i:05}"),
                "package_status": "TO_FULFILL", "tracking_number": "", "cancel_reason": ""
            })
        })
        .collect();
    serde_json::json!({
        "id": format!("5766840196033{i:05}"), "status": "AWAITING_SHIPMENT", "create_time": 1_700_000_000 + i,
        "update_time": 1_700_000_100 + i, "paid_time": 1_700_000_050 + i, "user_id": "7494726673780148744",
        "buyer_message": "please gift wrap", "shipping_type": "TIKTOK", "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "delivery_option_id": "7091146663229654785", "packages": [{"id": format!("11529215046068{i:05}")}],
        "tracking_number": "", "shipping_provider": "", "shipping_provider_id": "", "is_on_hold_order": false,
        "rts_sla_time": 1_700_200_000, "shipping_due_time": 1_700_300_000, "warehouse_id": "7068517275539719942",
        "payment": {"currency": "USD", "sub_total": "59.97", "shipping_fee": "5.99", "seller_discount": "0",
                    "platform_discount": "2.00", "total_amount": "68.76", "original_total_product_price": "74.97",
                    "original_shipping_fee": "5.99", "tax": "4.80"},
        "recipient_address": {"name": "Jane Doe", "phone_number": "(+1)213*****82", "full_address": "1 Main St, Los Angeles, CA 90001",
                              "address_line1": "1 Main St", "address_line2": "", "postal_code": "90001", "region_code": "US",
                              "district_info": [{"address_level": "L0", "address_level_name": "Country", "address_name": "United States"},
                                                {"address_level": "L1", "address_level_name": "State", "address_name": "California"}]},
        "line_items": line_items
    })
}

fn main() {
    let orders: Vec<serde_json::Value> = (0..50).map(order).collect();
    let page = serde_json::json!({"code": 0, "message": "Success", "request_id": "2023101009283401020612017302B2E3",
        "data": {"next_page_token": "aDU2dHhtZ2xxOTZhNTZlN0t2K2RmV2xlb1pyaGlGMT0=", "total_count": 5000, "orders": orders}})
    .to_string();
    let secret = "e59af819cc8f2c3a4b5d";
    let filter = OrderSearchFilter::updated_between(1_700_000_000, 1_700_003_600);

    let iterations = 2_000;
    // Warm up.
    for _ in 0..100 {
        black_box(run(secret, &filter, page.as_bytes()));
    }
    let mut sign_ns = 0u128;
    let mut decode_ns = 0u128;
    let cpu0 = thread_cpu_ns();
    let total = Instant::now();
    for _ in 0..iterations {
        let t = Instant::now();
        let body = serde_json::to_vec(&filter).unwrap_or_default();
        let s = sign_search(secret, &body);
        black_box(&s);
        sign_ns += t.elapsed().as_nanos();
        let t = Instant::now();
        let r: OrderSearchResponse = decode_envelope(
            "POST /order/202309/orders/search".into(),
            200,
            None,
            page.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        black_box(&r);
        decode_ns += t.elapsed().as_nanos();
    }
    let total = total.elapsed();
    let cpu_per = (thread_cpu_ns() - cpu0) as f64 / 1e3 / iterations as f64;
    let per = total.as_secs_f64() * 1e6 / iterations as f64;
    println!(
        "client_overhead: {iterations} iterations, page of 50 orders = {} bytes",
        page.len()
    );
    println!(
        "  sign + encode search request : {:>8.2} µs/call",
        sign_ns as f64 / 1e3 / iterations as f64
    );
    println!(
        "  decode 50-order page (typed) : {:>8.2} µs/call",
        decode_ns as f64 / 1e3 / iterations as f64
    );
    println!("  total per call (wall)        : {per:>8.2} µs/call");
    println!(
        "  total per call (thread CPU)  : {cpu_per:>8.2} µs/call  ({:.0} pages/s on one core)",
        1e6 / cpu_per
    );
    println!(
        "  (wall time includes time the scheduler gave to other processes; thread CPU time does not)"
    );
}

/// CPU time consumed by this thread, in nanoseconds.
fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is always valid.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn sign_search(secret: &str, body: &[u8]) -> String {
    let q = [
        ("app_key", "68xu9ks5p4i8"),
        ("timestamp", "1700000000"),
        ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
        ("page_size", "50"),
        ("page_token", "aDU2dHhtZ2xxOTZhNTZlN0t2K2RmV2xlb1pyaGlGMT0="),
        ("sort_field", "update_time"),
    ];
    signing::sign(secret, "/order/202309/orders/search", &q, Some(body))
}

fn run(secret: &str, filter: &OrderSearchFilter, page: &[u8]) -> usize {
    let body = serde_json::to_vec(filter).unwrap_or_default();
    let s = sign_search(secret, &body);
    let r: Result<OrderSearchResponse, _> = decode_envelope("POST /x".into(), 200, None, page);
    s.len() + r.map(|r| r.orders.len()).unwrap_or(0)
}
