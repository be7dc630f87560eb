//! End-to-end tests of the MCF system, driven over HTTP like its users do, in both modes.

mod authz;
mod backup;
mod bets;
mod billing;
mod billing_cycles;
mod browser;
mod chaos;
mod faults;
mod flow;
mod fuzz;
mod harness;
mod hiring;
mod iam;
mod identity;
mod invariants;
mod inventory;
mod languages;
mod lifecycle;
mod mail;
mod mail_crash;
mod metrics;
mod oidc;
mod portal_pages;
mod quality;
mod readme;
mod robustness;
mod schema;
mod supply;
mod surface;
mod topology;
mod traces;

/// Runs an async test body once per mode, as two named tests.
macro_rules! both_modes {
    ($($name:ident => $body:path;)*) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $body(crate::harness::Mode::Embedded).await })*
        }
        mod distributed {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $body(crate::harness::Mode::Distributed).await })*
        }
    };
}

both_modes! {
    a_russian_speaker_is_mailed_in_russian => crate::languages::a_russian_speaker_is_mailed_in_russian;
    chaos_soak_loses_nothing_doubles_nothing_and_balances => crate::chaos::nothing_is_lost_phantom_or_doubled;
    a_week_is_collected_and_a_month_paid_out_once_at_the_bank => crate::billing_cycles::a_week_is_collected_and_a_month_paid_out_once_at_the_bank;
    missed_weeks_run_once_after_billing_was_down => crate::billing_cycles::missed_weeks_run_once_after_billing_was_down;
    an_order_charges_its_client_and_credits_its_worker => crate::billing::an_order_charges_its_client_and_credits_its_worker;
    an_active_order_gets_its_kit_and_issuing_takes_its_stock => crate::inventory::an_active_order_gets_its_kit_and_issuing_takes_its_stock;
    a_kit_goes_from_the_supply_queue_to_the_worker_on_site => crate::supply::a_kit_goes_from_the_supply_queue_to_the_worker_on_site;
    every_contractor_fault_ends_with_one_cookie_per_kit => crate::inventory::every_contractor_fault_ends_with_one_cookie_per_kit;
    a_failed_order_is_reviewed_and_its_worker_adjusted_in_matching => crate::quality::a_failed_order_is_reviewed_and_its_worker_adjusted;
    three_managers_bet_on_an_order_and_billing_pays_the_winners => crate::bets::three_managers_bet_and_billing_pays_the_winners;
    orders_become_active_with_a_worker_and_a_price => crate::flow::orders_become_active;
    metrics_show_http_messaging_partner_and_matching_figures_of_the_flow => crate::metrics::metrics_show_the_flow;
    operators_list_and_replay_dead_letters_see_lag_and_rotate_keys => crate::metrics::operators_list_and_replay_dead_letters_see_lag_and_rotate_keys;
    orders_wait_until_a_worker_is_registered => crate::flow::orders_wait_for_a_worker;
    bad_input_is_refused_and_changes_nothing => crate::flow::bad_input_is_refused;
    dead_letters_can_be_listed_and_replay_refuses_unknown_ids => crate::flow::dead_letter_routes;
    retried_order_requests_with_an_idempotency_key_create_one_order => crate::flow::idempotent_order_requests;
    crash_between_commit_and_publish_loses_nothing => crate::faults::crash_before_publish;
    crash_between_publish_and_marking_sent_doubles_nothing => crate::faults::crash_after_publish;
    crash_between_effect_and_ack_doubles_nothing => crate::faults::crash_after_effect;
    crash_inside_a_batch_before_its_commit_loses_nothing => crate::faults::crash_in_batch;
    killing_a_process_mid_flow_loses_nothing => crate::faults::kill_mid_flow;
    sign_in_with_authorization_code_and_pkce => crate::iam::sign_in_with_code_and_pkce;
    refresh_tokens_rotate_and_reuse_revokes_the_family => crate::iam::refresh_rotation_and_reuse_detection;
    admin_api_service_tokens_and_key_rotation => crate::iam::admin_accounts_service_tokens_and_key_rotation;
    sign_ins_are_throttled_sign_out_works_and_accounts_are_announced => crate::iam::throttling_sign_out_and_account_events;
    set_password_links_are_single_use => crate::iam::set_password_links_are_single_use;
    a_standard_oidc_client_library_signs_in_refreshes_revokes_and_logs_out => crate::oidc::a_standard_client_library_signs_in_refreshes_revokes_and_logs_out;
    a_set_password_flood_is_throttled_and_sign_in_still_works => crate::oidc::a_set_password_flood_is_throttled_and_sign_in_still_works;
    a_person_changes_their_own_password_and_other_sessions_end => crate::oidc::a_person_changes_their_own_password;
    parallel_wrong_passwords_all_count_towards_the_block => crate::oidc::parallel_wrong_guesses_all_count;
    federated_sign_in_creates_the_client_account_once => crate::iam::federated_sign_in_creates_the_client_once;
    a_person_signs_in_with_a_browser_and_services_accept_the_token => crate::browser::a_person_signs_in_with_a_browser;
    mail_is_stored_rendered_and_delivered_once => crate::mail::messages_are_stored_rendered_and_delivered_once;
    mail_smtp_failures_are_retried_then_dead_then_retryable => crate::mail::smtp_failures_are_retried_then_dead_then_retryable;
    the_set_password_invite_arrives_once_despite_smtp_down_and_a_mail_restart => crate::mail::the_invite_arrives_once_despite_smtp_down_and_a_restart;
    mail_rejected_by_the_smtp_server_is_dead_at_once => crate::mail::rejected_messages_are_dead_at_once;
    mail_to_a_slow_smtp_server_arrives_once => crate::mail::a_slow_server_gets_each_message_once;
    mail_values_with_line_breaks_are_delivered_with_a_sane_subject => crate::mail::line_breaks_in_values_are_delivered_with_a_sane_subject;
    mail_killed_mid_delivery_writes_one_eml_per_message => crate::mail_crash::one_eml_per_message_despite_kills;
    mail_killed_mid_delivery_resends_at_most_the_message_in_flight => crate::mail_crash::smtp_gets_at_most_the_message_in_flight_again;
    hiring_apply_test_accept_then_the_worker_signs_in_and_is_matched => crate::hiring::apply_test_accept_and_work;
    hiring_refuses_a_flood_from_one_source => crate::hiring::a_flood_from_one_source_is_refused;
    an_order_completes_with_photos_and_a_no_show_is_rebooked_to_another_worker => crate::lifecycle::complete_flow_and_no_show_rebook;
    service_types_are_edited_and_retired_and_bad_requests_named => crate::lifecycle::catalog_and_refusals;
    a_no_show_during_downtime_fails_once_after_restart => crate::lifecycle::no_show_after_downtime;
    every_refusal_is_problem_json_naming_the_field => crate::surface::every_refusal_is_a_problem_naming_the_field;
    refusals_keep_keep_alive_connections_honest => crate::surface::refusals_keep_keep_alive_connections_honest;
    a_client_who_is_hired_works_under_her_own_account => crate::identity::a_client_who_is_hired_works_under_her_own_account;
    bad_input_is_refused_and_the_system_keeps_serving => crate::robustness::bad_input_is_refused_and_the_system_keeps_serving;
    schemathesis_finds_no_server_error_in_any_service => crate::fuzz::schemathesis_finds_no_server_error;
    generated_bodies_get_no_server_error_and_problem_refusals => crate::fuzz::generated_bodies_get_no_server_error;
    one_order_is_one_trace_across_the_services_and_its_log_lines_name_it => crate::traces::one_trace_per_order_across_the_services;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_nats_killed_and_restarted_mid_flow_loses_nothing() {
    faults::nats_killed_and_restarted().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_bets_with_billing_stopped_lose_nothing_and_book_nothing_twice() {
    bets::with_billing_stopped_nothing_is_lost_or_booked_twice().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_the_order_flow_survives_one_nats_node_and_one_replica_of_everything_down() {
    topology::the_order_flow_survives_one_nats_node_and_one_replica_of_everything_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_photos_live_in_an_s3_compatible_bucket() {
    lifecycle::photos_in_an_s3_bucket().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_the_readme_quick_start_runs_as_written() {
    readme::quick_start_runs_as_written().await;
}

/// The portal is served by `mcf up`; every role's main job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_the_portal_walks_every_roles_main_job_in_a_browser() {
    browser::the_portal_walks_every_role(harness::Mode::Embedded).await;
}

/// `mcf serve portal` in front of `mcf serve <service>` processes: a client orders (in
/// Russian), supply issues the kit from the mailed link, a worker checks in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_the_portal_serves_a_client_supply_and_a_worker_in_a_browser() {
    browser::the_portal_works_distributed().await;
}

/// Backups are of embedded data dirs (distributed: PostgreSQL's own tools, see
/// docs/operating.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_backup_taken_under_load_restores_to_a_system_that_passes_the_invariants() {
    backup::a_backup_under_load_restores_to_a_consistent_system().await;
}

/// A client adds a card on the bank's page and sees the week's invoice paid after Sunday;
/// a declined one says why and what to do (embedded: `mcf up` serves the portal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_client_pays_in_a_browser() {
    portal_pages::a_client_pays(harness::Mode::Embedded).await;
}

/// A manager's register, samples, awards, statements and summary pages in a browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_manager_keeps_the_books_in_a_browser() {
    portal_pages::a_manager_keeps_the_books(harness::Mode::Embedded).await;
}

/// An admin replays a dead letter in a browser and it is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_admin_replays_a_dead_letter_in_a_browser() {
    portal_pages::an_admin_replays_a_dead_letter(harness::Mode::Embedded).await;
}
