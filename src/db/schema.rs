// The tables as both backends' migrations create them. Written by hand: the portable column
// types (Text, Integer, BigInt, Timestamp) are what one code path over SQLite and PostgreSQL
// needs, and the test suite runs every query on both.

diesel::table! {
    agencies (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        agency_id -> Text,
        email -> Text,
        roles -> Text,
        review_groups -> Text,
        review_scope -> Text,
        password_hash -> Nullable<Text>,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use_cases (id) {
        id -> Text,
        agency_id -> Text,
        title -> Text,
        summary -> Text,
        business_function -> Text,
        status -> Text,
        version -> Integer,
        revision -> Integer,
        answers -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        business_value -> Nullable<Integer>,
        feasibility -> Nullable<Integer>,
        readiness -> Nullable<Integer>,
        priority -> Nullable<Integer>,
        quadrant -> Nullable<Text>,
        tier -> Nullable<Text>,
        route -> Nullable<Text>,
        rules_version -> Nullable<Text>,
        scores -> Nullable<Text>,
        triage -> Nullable<Text>,
        escalated -> Bool,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        import_key -> Nullable<Text>,
        declarations -> Text,
    }
}

diesel::table! {
    decisions (id) {
        id -> Text,
        use_case_id -> Text,
        revision -> Integer,
        actor_id -> Text,
        action -> Text,
        rationale -> Text,
        senior -> Bool,
        review_groups -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    assessments (id) {
        id -> Text,
        use_case_id -> Text,
        revision -> Integer,
        answers -> Text,
        scores -> Text,
        triage -> Text,
        tier -> Text,
        route -> Text,
        rules_version -> Text,
        created_at -> Timestamp,
        declarations -> Text,
        approved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        use_case_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        details -> Text,
        created_at -> Timestamp,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
        key_id -> Nullable<Text>,
    }
}

diesel::joinable!(users -> agencies (agency_id));
diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        request_sha256 -> Text,
        use_case_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(use_cases -> agencies (agency_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    users,
    api_tokens,
    use_cases,
    assessments,
    audit_events,
    audit_head,
    decisions,
    distinct_pairs,
    idempotency_keys,
    outbox,
    sessions
);

diesel::table! {
    outbox (id) {
        id -> Text,
        event -> Text,
        use_case_id -> Nullable<Text>,
        payload -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        csrf -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    distinct_pairs (case_a, case_b) {
        case_a -> Text,
        case_b -> Text,
        decided_by -> Text,
        created_at -> Timestamp,
    }
}
