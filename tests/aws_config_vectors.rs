//! The AWS SDKs' shared configuration vectors (`tests/data/aws-config-test-data/`), one
//! test per vector: the profile file parser, file locations (Linux cases), profile role
//! chains, container-credentials URIs and IMDS endpoints. The test list is generated
//! from the vector files; `every_vector_has_a_test` fails when a vector is added
//! without its test.

use crate::vectors::*;

#[test]
fn parser_00_empty_files_have_no_profiles() {
    parser_case(0);
}

#[test]
fn parser_01_empty_profiles_have_no_properties() {
    parser_case(1);
}

#[test]
fn parser_02_profile_names_support_alphanumeric_characters_and() {
    parser_case(2);
}

#[test]
fn parser_03_profile_definitions_must_end_with_brackets() {
    parser_case(3);
}

#[test]
fn parser_04_profile_names_should_be_trimmed() {
    parser_case(4);
}

#[test]
fn parser_05_tabs_can_separate_profile_names_from_profile_prefix() {
    parser_case(5);
}

#[test]
fn parser_06_properties_must_be_defined_in_a_profile() {
    parser_case(6);
}

#[test]
fn parser_07_profiles_can_contain_properties() {
    parser_case(7);
}

#[test]
fn parser_08_windows_style_line_endings_are_supported() {
    parser_case(8);
}

#[test]
fn parser_09_equals_signs_are_supported_in_property_values() {
    parser_case(9);
}

#[test]
fn parser_10_unicode_characters_are_supported_in_property_values() {
    parser_case(10);
}

#[test]
fn parser_11_profiles_can_contain_multiple_properties() {
    parser_case(11);
}

#[test]
fn parser_12_profiles_can_contain_multiple_properties() {
    parser_case(12);
}

#[test]
fn parser_13_property_keys_and_values_are_trimmed() {
    parser_case(13);
}

#[test]
fn parser_14_property_values_can_be_empty() {
    parser_case(14);
}

#[test]
fn parser_15_property_key_cannot_be_empty() {
    parser_case(15);
}

#[test]
fn parser_16_property_definitions_must_contain_an_equals_sign() {
    parser_case(16);
}

#[test]
fn parser_17_multiple_profiles_can_be_empty() {
    parser_case(17);
}

#[test]
fn parser_18_multiple_profiles_can_have_properties() {
    parser_case(18);
}

#[test]
fn parser_19_blank_lines_are_ignored() {
    parser_case(19);
}

#[test]
fn parser_20_pound_sign_comments_are_ignored() {
    parser_case(20);
}

#[test]
fn parser_21_semicolon_sign_comments_are_ignored() {
    parser_case(21);
}

#[test]
fn parser_22_all_comment_types_can_be_used_together() {
    parser_case(22);
}

#[test]
fn parser_23_comments_can_be_empty() {
    parser_case(23);
}

#[test]
fn parser_24_comments_can_be_adjacent_to_profile_names() {
    parser_case(24);
}

#[test]
fn parser_25_comments_adjacent_to_values_are_included_in_the_value() {
    parser_case(25);
}

#[test]
fn parser_26_property_values_can_be_continued_on_the_next_line() {
    parser_case(26);
}

#[test]
fn parser_27_property_values_can_be_continued_with_multiple_lines() {
    parser_case(27);
}

#[test]
fn parser_28_continuations_are_trimmed() {
    parser_case(28);
}

#[test]
fn parser_29_continuation_values_include_pound_comments() {
    parser_case(29);
}

#[test]
fn parser_30_continuation_values_include_semicolon_comments() {
    parser_case(30);
}

#[test]
fn parser_31_continuations_cannot_be_used_outside_of_a_profile() {
    parser_case(31);
}

#[test]
fn parser_32_continuations_cannot_be_used_outside_of_a_property() {
    parser_case(32);
}

#[test]
fn parser_33_continuations_reset_with_profile_definitions() {
    parser_case(33);
}

#[test]
fn parser_34_duplicate_profiles_in_the_same_file_merge_properties() {
    parser_case(34);
}

#[test]
fn parser_35_duplicate_properties_in_a_profile_use_the_last_one_defined() {
    parser_case(35);
}

#[test]
fn parser_36_duplicate_properties_in_duplicate_profiles_use_the_last_one() {
    parser_case(36);
}

#[test]
fn parser_37_duplicate_properties_in_duplicate_profiles_use_the_last_one() {
    parser_case(37);
}

#[test]
fn parser_38_default_profile_with_profile_prefix_overrides_default_profil() {
    parser_case(38);
}

#[test]
fn parser_39_default_profile_with_profile_prefix_overrides_default_profil() {
    parser_case(39);
}

#[test]
fn parser_40_invalid_profile_names_are_ignored() {
    parser_case(40);
}

#[test]
fn parser_41_invalid_property_names_are_ignored() {
    parser_case(41);
}

#[test]
fn parser_42_all_valid_profile_name_characters_are_supported() {
    parser_case(42);
}

#[test]
fn parser_43_all_valid_property_name_characters_are_supported() {
    parser_case(43);
}

#[test]
fn parser_44_properties_can_have_sub_properties() {
    parser_case(44);
}

#[test]
fn parser_45_invalid_sub_property_definitions_cause_an_error() {
    parser_case(45);
}

#[test]
fn parser_46_sub_property_definitions_can_have_an_empty_value() {
    parser_case(46);
}

#[test]
fn parser_47_sub_property_definitions_cannot_have_an_empty_name() {
    parser_case(47);
}

#[test]
fn parser_48_sub_property_definitions_can_have_an_invalid_name() {
    parser_case(48);
}

#[test]
fn parser_49_sub_properties_can_have_blank_lines_that_are_ignored() {
    parser_case(49);
}

#[test]
fn parser_50_profiles_duplicated_in_multiple_files_are_merged() {
    parser_case(50);
}

#[test]
fn parser_51_default_profiles_with_mixed_prefixes_in_the_config_file_igno() {
    parser_case(51);
}

#[test]
fn parser_52_default_profiles_with_mixed_prefixes_merge_with_credentials() {
    parser_case(52);
}

#[test]
fn parser_53_duplicate_properties_between_files_uses_credentials_property() {
    parser_case(53);
}

#[test]
fn parser_54_config_profiles_without_prefix_are_ignored() {
    parser_case(54);
}

#[test]
fn parser_55_credentials_profiles_with_prefix_are_ignored() {
    parser_case(55);
}

#[test]
fn parser_56_comment_characters_adjacent_to_profile_decls() {
    parser_case(56);
}

#[test]
fn parser_57_invalid_continuation() {
    parser_case(57);
}

#[test]
fn parser_58_sneaky_profile_name() {
    parser_case(58);
}

#[test]
fn parser_59_profile_name_with_extra_whitespace() {
    parser_case(59);
}

#[test]
fn parser_60_profile_name_with_extra_whitespace_in_credentials() {
    parser_case(60);
}

#[test]
fn parser_61_properties_from_an_invalid_profile_name_are_ignored() {
    parser_case(61);
}

#[test]
fn parser_62_sso_session_with_properties() {
    parser_case(62);
}

#[test]
fn parser_63_sso_session_without_the_space_before_the_name_is_a_profile() {
    parser_case(63);
}

#[test]
fn parser_64_a_typo_d_sso_session_will_be_ignored() {
    parser_case(64);
}

#[test]
fn location_00_user_home_is_loaded_from_home_with_highest_priority_on_non_w() {
    location_case(0);
}

#[test]
fn location_04_the_default_config_location_can_be_overridden_by_the_user_on() {
    location_case(4);
}

#[test]
fn location_05_the_default_credentials_location_can_be_overridden_by_the_us() {
    location_case(5);
}

#[test]
fn location_08_the_default_profile_can_be_overridden_via_environment_variab() {
    location_case(8);
}

#[test]
fn assume_role_00_basic_test_case_a_role_arn_backed_by_a_static_credential() {
    assume_role_case(0);
}

#[test]
fn assume_role_01_ignore_explicit_credentials_when_source_profile_is_specified() {
    assume_role_case(1);
}

#[test]
fn assume_role_02_load_role_session_name_for_the_assumerole_provider() {
    assume_role_case(2);
}

#[test]
fn assume_role_03_load_external_id_for_the_assumerole_provider() {
    assume_role_case(3);
}

#[test]
fn assume_role_04_self_referential_profile_first_load_base_creds_then_use_for() {
    assume_role_case(4);
}

#[test]
fn assume_role_05_load_credentials_from_a_credential_source() {
    assume_role_case(5);
}

#[test]
fn assume_role_06_role_arn_without_source_source_profile() {
    assume_role_case(6);
}

#[test]
fn assume_role_07_source_profile_and_credential_source_both_present() {
    assume_role_case(7);
}

#[test]
fn assume_role_08_partial_credentials_error_missing_secret() {
    assume_role_case(8);
}

#[test]
fn assume_role_09_partial_credentials_error_missing_access_key() {
    assume_role_case(9);
}

#[test]
fn assume_role_10_missing_credentials_error_empty_source_profile() {
    assume_role_case(10);
}

#[test]
fn assume_role_11_profile_only_contains_configuration() {
    assume_role_case(11);
}

#[test]
fn assume_role_12_missing_source_profile() {
    assume_role_case(12);
}

#[test]
fn assume_role_13_missing_root_profile_should_never_happen_in_practice() {
    assume_role_case(13);
}

#[test]
fn assume_role_14_multiple_chained_assume_role_profiles() {
    assume_role_case(14);
}

#[test]
fn assume_role_15_chained_assume_role_profiles_with_static_credentials_ignore() {
    assume_role_case(15);
}

#[test]
fn assume_role_16_assume_role_profile_infinite_loop() {
    assume_role_case(16);
}

#[test]
fn assume_role_17_infinite_loop_with_static_credentials() {
    assume_role_case(17);
}

#[test]
fn assume_role_18_web_identity_role() {
    assume_role_case(18);
}

#[test]
fn assume_role_19_web_identity_role_with_session_name() {
    assume_role_case(19);
}

#[test]
fn assume_role_20_web_identity_role() {
    assume_role_case(20);
}

#[test]
fn assume_role_21_web_identity_token_as_source_profile() {
    assume_role_case(21);
}

#[test]
fn assume_role_22_sso_credentials_profile_selected() {
    assume_role_case(22);
}

#[test]
fn assume_role_23_invalid_sso_credentials_configuration_missing_account_id() {
    assume_role_case(23);
}

#[test]
fn assume_role_24_invalid_sso_credentials_configuration_missing_role_name() {
    assume_role_case(24);
}

#[test]
fn assume_role_25_invalid_sso_token_configuration_sso_region_must_be_in_sso_se() {
    assume_role_case(25);
}

#[test]
fn assume_role_26_sso_token_profile_selected() {
    assume_role_case(26);
}

#[test]
fn assume_role_27_invalid_sso_token_configuration_sso_session_not_found() {
    assume_role_case(27);
}

#[test]
fn ecs_00_all_fields_unset_provider_is_not_enabled() {
    ecs_case(0);
}

#[test]
fn ecs_01_relative_uri() {
    ecs_case(1);
}

#[test]
fn ecs_02_invalid_full_uri() {
    ecs_case(2);
}

#[test]
fn ecs_03_full_uri_https() {
    ecs_case(3);
}

#[test]
fn ecs_04_full_uri_https_with_port() {
    ecs_case(4);
}

#[test]
fn ecs_05_localhost() {
    ecs_case(5);
}

#[test]
fn ecs_06_ecs_task_role() {
    ecs_case(6);
}

#[test]
fn ecs_07_eks_pod_identity_ipv4() {
    ecs_case(7);
}

#[test]
fn ecs_08_eks_pod_identity_ipv6() {
    ecs_case(8);
}

#[test]
fn ecs_09_relative_takes_precedence_over_full() {
    ecs_case(9);
}

#[test]
fn ecs_10_support_query_params() {
    ecs_case(10);
}

#[test]
fn imds_endpoint_00_all_fields_unset_default_endpoint() {
    imds_endpoint_case(0);
}

#[test]
fn imds_endpoint_01_environment_variable_endpoint_override() {
    imds_endpoint_case(1);
}

#[test]
fn imds_endpoint_02_profile_endpoint_override() {
    imds_endpoint_case(2);
}

#[test]
fn imds_endpoint_03_environment_overrides_profile() {
    imds_endpoint_case(3);
}

#[test]
fn imds_endpoint_04_invalid_endpoint_mode_override() {
    imds_endpoint_case(4);
}

#[test]
fn imds_endpoint_05_ipv4_endpoint() {
    imds_endpoint_case(5);
}

#[test]
fn imds_endpoint_06_ipv6_endpoint() {
    imds_endpoint_case(6);
}

#[test]
fn imds_endpoint_07_case_insensitive_endpoint() {
    imds_endpoint_case(7);
}

#[test]
fn imds_endpoint_08_ipv6_endpoint_from_config() {
    imds_endpoint_case(8);
}

#[test]
fn imds_endpoint_09_invalid_config_endpoint_mode() {
    imds_endpoint_case(9);
}

#[test]
fn imds_endpoint_10_explicit_endpoint_override() {
    imds_endpoint_case(10);
}

#[test]
fn imds_endpoint_11_explicit_mode_override() {
    imds_endpoint_case(11);
}

#[test]
fn imds_endpoint_12_invalid_uri() {
    imds_endpoint_case(12);
}

#[test]
fn imds_endpoint_13_environment_variable_overrides_endpoint_mode_override() {
    imds_endpoint_case(13);
}
#[test]
fn every_vector_has_a_test() {
    let src = include_str!("aws_config_vectors.rs");
    for (call, count) in vector_counts() {
        let tests = src.matches(&format!("    {call}")).count();
        assert_eq!(tests, count, "{call}: {tests} tests for {count} vectors");
    }
}
