//! Square's published enumerations: scopes, error categories and error codes.
//!
//! Generated from Square's OAuth specification (`spec/square-oauth-openapi-2025-08-20.json`,
//! `ErrorCode`, `ErrorCategory` and `securitySchemes.oauth2...scopes`) plus the error codes that
//! Square's 2026 SDKs know and the specification does not yet list. Each enum is open: a value
//! Square adds later is kept as text in `Other`, never a parse failure.

use crate::open_enum::open_enum;

open_enum! {
    /// A permission an application asks a seller for (`scope` in the authorize URL, `scopes` in
    /// ObtainToken and RetrieveTokenStatus).
    ///
    /// ```
    /// use square_oauth::Scope;
    /// assert_eq!(Scope::PaymentsRead.as_str(), "PAYMENTS_READ");
    /// assert_eq!("PAYMENTS_READ".parse::<Scope>().unwrap(), Scope::PaymentsRead);
    /// assert_eq!(Scope::from("NEW_SCOPE"), Scope::Other("NEW_SCOPE".into()));
    /// ```
    Scope {
    #[doc = "HTTP methods: `GET`. Grants write access for third-party Add-ons to read configurations of their Add-ons, for example, when calling `RetrieveConfiguration` endpoint."]
    AddonConfigurationsRead => "ADDON_CONFIGURATIONS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access for third-party Add-ons to store configurations of their Add-ons, for example, when calling `CreateConfiguration` endpoint."]
    AddonConfigurationsWrite => "ADDON_CONFIGURATIONS_WRITE",
    #[doc = "HTTP methods: `GET`, `POST`. Grants read access to all of a seller's booking information, calendar, and business details."]
    AppointmentsAllRead => "APPOINTMENTS_ALL_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to all booking details, including double-booking a seller."]
    AppointmentsAllWrite => "APPOINTMENTS_ALL_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to booking business settings."]
    AppointmentsBusinessSettingsRead => "APPOINTMENTS_BUSINESS_SETTINGS_READ",
    #[doc = "HTTP methods: `GET`, `POST`. Grants read access to booking information."]
    AppointmentsRead => "APPOINTMENTS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to booking information."]
    AppointmentsWrite => "APPOINTMENTS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to bank account information associated with the targeted Square account."]
    BankAccountsRead => "BANK_ACCOUNTS_READ",
    #[doc = "HTTP methods: `GET`. Grants read access to cash drawer shift information."]
    CashDrawerRead => "CASH_DRAWER_READ",
    #[doc = "HTTP methods: `POST`. Grants write access to create channels, for example, when calling the `CreateChannel` endpoint."]
    ChannelsCreate => "CHANNELS_CREATE",
    #[doc = "HTTP methods: `GET`. Grants read access to view channels, for example, when calling the `RetrieveChannel` endpoint."]
    ChannelsRead => "CHANNELS_READ",
    #[doc = "HTTP methods: `PUT`. Grants write access to update channels, for example, when calling the `UpdateChannel` endpoint."]
    ChannelsUpdate => "CHANNELS_UPDATE",
    #[doc = "HTTP methods: `GET`. Grants read access to customer information."]
    CustomersRead => "CUSTOMERS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to customer information."]
    CustomersWrite => "CUSTOMERS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to device information."]
    DevicesRead => "DEVICES_READ",
    #[doc = "HTTP methods: `POST`, `GET`. Grants read/write access to device credentials information."]
    DeviceCredentialManagement => "DEVICE_CREDENTIAL_MANAGEMENT",
    #[doc = "HTTP methods: `GET`. Grants read access to Discount Codes API."]
    DiscountCodesRead => "DISCOUNT_CODES_READ",
    #[doc = "HTTP methods: `POST`. Grants write access to Discount Codes API."]
    DiscountCodesWrite => "DISCOUNT_CODES_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to dispute information."]
    DisputesRead => "DISPUTES_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to dispute information."]
    DisputesWrite => "DISPUTES_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to employee profile information."]
    EmployeesRead => "EMPLOYEES_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to employee profile information."]
    EmployeesWrite => "EMPLOYEES_WRITE",
    #[doc = "HTTP methods: `GET`, `POST`. Grants read access to gift card information."]
    GiftcardsRead => "GIFTCARDS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to gift card information."]
    GiftcardsWrite => "GIFTCARDS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to inventory information."]
    InventoryRead => "INVENTORY_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to inventory information."]
    InventoryWrite => "INVENTORY_WRITE",
    #[doc = "HTTP methods: `GET`, `POST`. Grants read access to invoice information."]
    InvoicesRead => "INVOICES_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to invoice information."]
    InvoicesWrite => "INVOICES_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to product catalog information."]
    ItemsRead => "ITEMS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to product catalog information."]
    ItemsWrite => "ITEMS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to loyalty information."]
    LoyaltyRead => "LOYALTY_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to loyalty information."]
    LoyaltyWrite => "LOYALTY_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to business and location information."]
    MerchantProfileRead => "MERCHANT_PROFILE_READ",
    #[doc = "HTTP methods: `POST`, `PUT`. Grants write access to business and location information."]
    MerchantProfileWrite => "MERCHANT_PROFILE_WRITE",
    #[doc = "HTTP methods: `GET`, `POST` Read access to ECOM online store site details."]
    OnlineStoreSiteRead => "ONLINE_STORE_SITE_READ",
    #[doc = "HTTP methods: `GET`, `POST` Read access to ECOM online store snippets on published websites."]
    OnlineStoreSnippetsRead => "ONLINE_STORE_SNIPPETS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE` Write access to ECOM online store snippets on published websites."]
    OnlineStoreSnippetsWrite => "ONLINE_STORE_SNIPPETS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to order information."]
    OrdersRead => "ORDERS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to order information."]
    OrdersWrite => "ORDERS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to transaction and refund information."]
    PaymentsRead => "PAYMENTS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to transaction and refunds information."]
    PaymentsWrite => "PAYMENTS_WRITE",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE` Allow third party applications to deduct a portion of each transaction amount."]
    PaymentsWriteAdditionalRecipients => "PAYMENTS_WRITE_ADDITIONAL_RECIPIENTS",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to payments and refunds information."]
    PaymentsWriteInPerson => "PAYMENTS_WRITE_IN_PERSON",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE` Allows the developer to process payments on behalf of a seller using a shared on file payment method."]
    PaymentsWriteSharedOnfile => "PAYMENTS_WRITE_SHARED_ONFILE",
    #[doc = "HTTP methods: `GET`. Grants read access to payouts and payout entries information."]
    PayoutsRead => "PAYOUTS_READ",
    #[doc = "HTTP methods: `GET`. Grants read access to Permission Sets."]
    PermissionSetsRead => "PERMISSION_SETS_READ",
    #[doc = "HTTP methods: `PUT`. Grants write access to Permission Sets."]
    PermissionSetsWrite => "PERMISSION_SETS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to reservation information, for example, when calling the `RetrieveReservation` endpoint."]
    ReservationsRead => "RESERVATIONS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to reservation information, for example, when calling the `CreateReservation` endpoint."]
    ReservationsWrite => "RESERVATIONS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to check information, for example, when calling the `RetrieveCheck` endpoint."]
    RestaurantChecksRead => "RESTAURANT_CHECKS_READ",
    #[doc = "HTTP methods: `GET`. Grants read access to settlement (deposit) information."]
    SettlementsRead => "SETTLEMENTS_READ",
    #[doc = "HTTP methods: `GET`, `POST`. Grants read access to subscription information."]
    SubscriptionsRead => "SUBSCRIPTIONS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to subscription information."]
    SubscriptionsWrite => "SUBSCRIPTIONS_WRITE",
    #[doc = "HTTP methods: `GET`. Grants read access to employee timecard information."]
    TimecardsRead => "TIMECARDS_READ",
    #[doc = "HTTP methods: `GET`. Grants read access to employee timecard settings information."]
    TimecardsSettingsRead => "TIMECARDS_SETTINGS_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to employee timecard settings information."]
    TimecardsSettingsWrite => "TIMECARDS_SETTINGS_WRITE",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to employee shift information."]
    TimecardsWrite => "TIMECARDS_WRITE",
    #[doc = "HTTP methods: `GET`, `POST`. Grants read access to vendor information, for example, when calling the `RetrieveVendor` endpoint."]
    VendorRead => "VENDOR_READ",
    #[doc = "HTTP methods: `POST`, `PUT`, `DELETE`. Grants write access to vendor information, for example, when calling the `BulkUpdateVendors` endpoint."]
    VendorWrite => "VENDOR_WRITE",
    }
}

open_enum! {
    /// The broad class of a Square error (`category` of an `Error`).
    ErrorCategory {
    #[doc = "An error occurred with the Connect API itself."]
    ApiError => "API_ERROR",
    #[doc = "An authentication error occurred."]
    AuthenticationError => "AUTHENTICATION_ERROR",
    #[doc = "The request was invalid."]
    InvalidRequestError => "INVALID_REQUEST_ERROR",
    #[doc = "Your application reached the Square API rate limit."]
    RateLimitError => "RATE_LIMIT_ERROR",
    #[doc = "An error occurred while processing a payment method."]
    PaymentMethodError => "PAYMENT_METHOD_ERROR",
    #[doc = "An error occurred while attempting to process a refund."]
    RefundError => "REFUND_ERROR",
    #[doc = "An error occurred when checking a merchant subscription status"]
    MerchantSubscriptionError => "MERCHANT_SUBSCRIPTION_ERROR",
    #[doc = "An error that is returned from an external vendor's API"]
    ExternalVendorError => "EXTERNAL_VENDOR_ERROR",
    #[doc = "A legacy (\"V1\") error body `{\"message\", \"type\"}`, folded into this shape as Square's SDKs do."]
    V1Error => "V1_ERROR",
    }
}

open_enum! {
    /// The specific Square error (`code` of an `Error`).
    ErrorCode {
    #[doc = "A general server error occurred."]
    InternalServerError => "INTERNAL_SERVER_ERROR",
    #[doc = "A general authorization error occurred."]
    Unauthorized => "UNAUTHORIZED",
    #[doc = "The provided access token has expired."]
    AccessTokenExpired => "ACCESS_TOKEN_EXPIRED",
    #[doc = "The provided access token has been revoked."]
    AccessTokenRevoked => "ACCESS_TOKEN_REVOKED",
    #[doc = "The provided client has been disabled."]
    ClientDisabled => "CLIENT_DISABLED",
    #[doc = "A general access error occurred."]
    Forbidden => "FORBIDDEN",
    #[doc = "The provided access token does not have permission to execute the requested action."]
    InsufficientScopes => "INSUFFICIENT_SCOPES",
    #[doc = "The calling application was disabled."]
    ApplicationDisabled => "APPLICATION_DISABLED",
    #[doc = "The calling application was created prior to 2016-03-30 and is not compatible with v2 Square API calls."]
    V1Application => "V1_APPLICATION",
    #[doc = "The calling application is using an access token created prior to 2016-03-30 and is not compatible with v2 Square API calls."]
    V1AccessToken => "V1_ACCESS_TOKEN",
    #[doc = "The location provided in the API call is not enabled for credit card processing."]
    CardProcessingNotEnabled => "CARD_PROCESSING_NOT_ENABLED",
    #[doc = "A required subscription was not found for the merchant"]
    MerchantSubscriptionNotFound => "MERCHANT_SUBSCRIPTION_NOT_FOUND",
    #[doc = "A general error occurred with the request."]
    BadRequest => "BAD_REQUEST",
    #[doc = "The request is missing a required path, query, or body parameter."]
    MissingRequiredParameter => "MISSING_REQUIRED_PARAMETER",
    #[doc = "The value provided in the request is the wrong type."]
    IncorrectType => "INCORRECT_TYPE",
    #[doc = "Formatting for the provided time value is incorrect."]
    InvalidTime => "INVALID_TIME",
    #[doc = "The time range provided in the request is invalid."]
    InvalidTimeRange => "INVALID_TIME_RANGE",
    #[doc = "The provided value is invalid."]
    InvalidValue => "INVALID_VALUE",
    #[doc = "The pagination cursor included in the request is invalid."]
    InvalidCursor => "INVALID_CURSOR",
    #[doc = "The query parameters provided is invalid for the requested endpoint."]
    UnknownQueryParameter => "UNKNOWN_QUERY_PARAMETER",
    #[doc = "One or more of the request parameters conflict with each other."]
    ConflictingParameters => "CONFLICTING_PARAMETERS",
    #[doc = "The request body is not a JSON object."]
    ExpectedJsonBody => "EXPECTED_JSON_BODY",
    #[doc = "The provided sort order is not a valid key."]
    InvalidSortOrder => "INVALID_SORT_ORDER",
    #[doc = "The provided value does not match an expected regular expression."]
    ValueRegexMismatch => "VALUE_REGEX_MISMATCH",
    #[doc = "The provided string value is shorter than the minimum length allowed."]
    ValueTooShort => "VALUE_TOO_SHORT",
    #[doc = "The provided string value is longer than the maximum length allowed."]
    ValueTooLong => "VALUE_TOO_LONG",
    #[doc = "The provided value is less than the supported minimum."]
    ValueTooLow => "VALUE_TOO_LOW",
    #[doc = "The provided value is greater than the supported maximum."]
    ValueTooHigh => "VALUE_TOO_HIGH",
    #[doc = "The provided value has a default (empty) value such as a blank string."]
    ValueEmpty => "VALUE_EMPTY",
    #[doc = "The provided array has too many elements."]
    ArrayLengthTooLong => "ARRAY_LENGTH_TOO_LONG",
    #[doc = "The provided array has too few elements."]
    ArrayLengthTooShort => "ARRAY_LENGTH_TOO_SHORT",
    #[doc = "The provided array is empty."]
    ArrayEmpty => "ARRAY_EMPTY",
    #[doc = "The endpoint expected the provided value to be a boolean."]
    ExpectedBoolean => "EXPECTED_BOOLEAN",
    #[doc = "The endpoint expected the provided value to be an integer."]
    ExpectedInteger => "EXPECTED_INTEGER",
    #[doc = "The endpoint expected the provided value to be a float."]
    ExpectedFloat => "EXPECTED_FLOAT",
    #[doc = "The endpoint expected the provided value to be a string."]
    ExpectedString => "EXPECTED_STRING",
    #[doc = "The endpoint expected the provided value to be a JSON object."]
    ExpectedObject => "EXPECTED_OBJECT",
    #[doc = "The endpoint expected the provided value to be an array or list."]
    ExpectedArray => "EXPECTED_ARRAY",
    #[doc = "The endpoint expected the provided value to be a map or associative array."]
    ExpectedMap => "EXPECTED_MAP",
    #[doc = "The endpoint expected the provided value to be an array encoded in base64."]
    ExpectedBase64EncodedByteArray => "EXPECTED_BASE64_ENCODED_BYTE_ARRAY",
    #[doc = "One or more objects in the array does not match the array type."]
    InvalidArrayValue => "INVALID_ARRAY_VALUE",
    #[doc = "The provided static string is not valid for the field."]
    InvalidEnumValue => "INVALID_ENUM_VALUE",
    #[doc = "Invalid content type header."]
    InvalidContentType => "INVALID_CONTENT_TYPE",
    #[doc = "Only relevant for applications created prior to 2016-03-30."]
    InvalidFormValue => "INVALID_FORM_VALUE",
    #[doc = "The provided customer id can't be found in the merchant's customers list."]
    CustomerNotFound => "CUSTOMER_NOT_FOUND",
    #[doc = "A general error occurred."]
    OneInstrumentExpected => "ONE_INSTRUMENT_EXPECTED",
    #[doc = "A general error occurred."]
    NoFieldsSet => "NO_FIELDS_SET",
    #[doc = "Too many entries in the map field."]
    TooManyMapEntries => "TOO_MANY_MAP_ENTRIES",
    #[doc = "The length of one of the provided keys in the map is too short."]
    MapKeyLengthTooShort => "MAP_KEY_LENGTH_TOO_SHORT",
    #[doc = "The length of one of the provided keys in the map is too long."]
    MapKeyLengthTooLong => "MAP_KEY_LENGTH_TOO_LONG",
    #[doc = "The provided customer does not have a recorded name."]
    CustomerMissingName => "CUSTOMER_MISSING_NAME",
    #[doc = "The provided customer does not have a recorded email."]
    CustomerMissingEmail => "CUSTOMER_MISSING_EMAIL",
    #[doc = "The subscription cannot be paused longer than the duration of the current phase."]
    InvalidPauseLength => "INVALID_PAUSE_LENGTH",
    #[doc = "The subscription cannot be paused/resumed on the given date."]
    InvalidDate => "INVALID_DATE",
    #[doc = "The API request references an unsupported country."]
    UnsupportedCountry => "UNSUPPORTED_COUNTRY",
    #[doc = "The API request references an unsupported currency."]
    UnsupportedCurrency => "UNSUPPORTED_CURRENCY",
    #[doc = "The payment was declined by the card issuer during an Apple Tap to Pay (TTP) transaction with a request for the card's PIN."]
    AppleTtpPinToken => "APPLE_TTP_PIN_TOKEN",
    #[doc = "The card issuer declined the request because the card is expired."]
    CardExpired => "CARD_EXPIRED",
    #[doc = "The expiration date for the payment card is invalid."]
    InvalidExpiration => "INVALID_EXPIRATION",
    #[doc = "The expiration year for the payment card is invalid."]
    InvalidExpirationYear => "INVALID_EXPIRATION_YEAR",
    #[doc = "The expiration date for the payment card is invalid."]
    InvalidExpirationDate => "INVALID_EXPIRATION_DATE",
    #[doc = "The credit card provided is not from a supported issuer."]
    UnsupportedCardBrand => "UNSUPPORTED_CARD_BRAND",
    #[doc = "The entry method for the credit card (swipe, dip, tap) is not supported."]
    UnsupportedEntryMethod => "UNSUPPORTED_ENTRY_METHOD",
    #[doc = "The encrypted card information is invalid."]
    InvalidEncryptedCard => "INVALID_ENCRYPTED_CARD",
    #[doc = "The credit card cannot be validated based on the provided details."]
    InvalidCard => "INVALID_CARD",
    #[doc = "The payment was declined because there was a payment amount mismatch."]
    PaymentAmountMismatch => "PAYMENT_AMOUNT_MISMATCH",
    #[doc = "Square received a decline without any additional information."]
    GenericDecline => "GENERIC_DECLINE",
    #[doc = "The card issuer declined the request because the CVV value is invalid."]
    CvvFailure => "CVV_FAILURE",
    #[doc = "The card issuer declined the request because the postal code is invalid."]
    AddressVerificationFailure => "ADDRESS_VERIFICATION_FAILURE",
    #[doc = "The issuer was not able to locate the account on record."]
    InvalidAccount => "INVALID_ACCOUNT",
    #[doc = "The currency associated with the payment is not valid for the provided funding source."]
    CurrencyMismatch => "CURRENCY_MISMATCH",
    #[doc = "The funding source has insufficient funds to cover the payment."]
    InsufficientFunds => "INSUFFICIENT_FUNDS",
    #[doc = "The Square account does not have the permissions to accept this payment."]
    InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
    #[doc = "The card issuer has declined the transaction due to restrictions on where the card can be used."]
    CardholderInsufficientPermissions => "CARDHOLDER_INSUFFICIENT_PERMISSIONS",
    #[doc = "The Square account cannot take payments in the specified region."]
    InvalidLocation => "INVALID_LOCATION",
    #[doc = "The card issuer has determined the payment amount is either too high or too low."]
    TransactionLimit => "TRANSACTION_LIMIT",
    #[doc = "The card issuer declined the request because the issuer requires voice authorization from the cardholder."]
    VoiceFailure => "VOICE_FAILURE",
    #[doc = "The specified card number is invalid."]
    PanFailure => "PAN_FAILURE",
    #[doc = "The card expiration date is either invalid or indicates that the card is expired."]
    ExpirationFailure => "EXPIRATION_FAILURE",
    #[doc = "The card is not supported either in the geographic region or by the merchant category code (MCC)."]
    CardNotSupported => "CARD_NOT_SUPPORTED",
    #[doc = "The Square Card Reader declined the payment for an unknown reason."]
    ReaderDeclined => "READER_DECLINED",
    #[doc = "The card issuer declined the request because the PIN is invalid."]
    InvalidPin => "INVALID_PIN",
    #[doc = "The payment is missing a required PIN."]
    MissingPin => "MISSING_PIN",
    #[doc = "The payment is missing a required ACCOUNT_TYPE parameter."]
    MissingAccountType => "MISSING_ACCOUNT_TYPE",
    #[doc = "The postal code is incorrectly formatted."]
    InvalidPostalCode => "INVALID_POSTAL_CODE",
    #[doc = "The app_fee_money on a payment is too high."]
    InvalidFees => "INVALID_FEES",
    #[doc = "The card must be swiped, tapped, or dipped."]
    ManuallyEnteredPaymentNotSupported => "MANUALLY_ENTERED_PAYMENT_NOT_SUPPORTED",
    #[doc = "Square declined the request because the payment amount exceeded the processing limit for this merchant."]
    PaymentLimitExceeded => "PAYMENT_LIMIT_EXCEEDED",
    #[doc = "When a Gift Card is a payment source, you can allow taking a partial payment by adding the `accept_partial_authorization` parameter in the request."]
    GiftCardAvailableAmount => "GIFT_CARD_AVAILABLE_AMOUNT",
    #[doc = "The account provided cannot carry out transactions."]
    AccountUnusable => "ACCOUNT_UNUSABLE",
    #[doc = "Bank account rejected or was not authorized for the payment."]
    BuyerRefusedPayment => "BUYER_REFUSED_PAYMENT",
    #[doc = "The application tried to update a delayed-capture payment that has expired."]
    DelayedTransactionExpired => "DELAYED_TRANSACTION_EXPIRED",
    #[doc = "The application tried to cancel a delayed-capture payment that was already cancelled."]
    DelayedTransactionCanceled => "DELAYED_TRANSACTION_CANCELED",
    #[doc = "The application tried to capture a delayed-capture payment that was already captured."]
    DelayedTransactionCaptured => "DELAYED_TRANSACTION_CAPTURED",
    #[doc = "The application tried to update a delayed-capture payment that failed."]
    DelayedTransactionFailed => "DELAYED_TRANSACTION_FAILED",
    #[doc = "The provided card token (nonce) has expired."]
    CardTokenExpired => "CARD_TOKEN_EXPIRED",
    #[doc = "The provided card token (nonce) was already used to process the payment or refund."]
    CardTokenUsed => "CARD_TOKEN_USED",
    #[doc = "The requested payment amount is too high for the provided payment source."]
    AmountTooHigh => "AMOUNT_TOO_HIGH",
    #[doc = "The API request references an unsupported instrument type."]
    UnsupportedInstrumentType => "UNSUPPORTED_INSTRUMENT_TYPE",
    #[doc = "The requested refund amount exceeds the amount available to refund."]
    RefundAmountInvalid => "REFUND_AMOUNT_INVALID",
    #[doc = "The payment already has a pending refund."]
    RefundAlreadyPending => "REFUND_ALREADY_PENDING",
    #[doc = "The payment is not refundable."]
    PaymentNotRefundable => "PAYMENT_NOT_REFUNDABLE",
    #[doc = "The payment is not refundable because it has been disputed."]
    PaymentNotRefundableDueToDispute => "PAYMENT_NOT_REFUNDABLE_DUE_TO_DISPUTE",
    #[doc = "The payment is not refundable because the payment is approved and needs to be completed first before the refund is issued."]
    RefundErrorPaymentNeedsCompletion => "REFUND_ERROR_PAYMENT_NEEDS_COMPLETION",
    #[doc = "Request failed - The card issuer declined the refund."]
    RefundDeclined => "REFUND_DECLINED",
    #[doc = "The Square account does not have the permissions to process this refund."]
    InsufficientPermissionsForRefund => "INSUFFICIENT_PERMISSIONS_FOR_REFUND",
    #[doc = "Generic error - the provided card data is invalid."]
    InvalidCardData => "INVALID_CARD_DATA",
    #[doc = "The provided source id was already used to create a card."]
    SourceUsed => "SOURCE_USED",
    #[doc = "The provided source id has expired."]
    SourceExpired => "SOURCE_EXPIRED",
    #[doc = "The referenced loyalty program reward tier is not supported."]
    UnsupportedLoyaltyRewardTier => "UNSUPPORTED_LOYALTY_REWARD_TIER",
    #[doc = "Generic error - the given location does not matching what is expected."]
    LocationMismatch => "LOCATION_MISMATCH",
    #[doc = "The order attempting to be returned is not yet paid and cannot be returned."]
    OrderUnpaidNotReturnable => "ORDER_UNPAID_NOT_RETURNABLE",
    #[doc = "The provided idempotency key has already been used."]
    IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
    #[doc = "General error - the value provided was unexpected."]
    UnexpectedValue => "UNEXPECTED_VALUE",
    #[doc = "The API request is not supported in sandbox."]
    SandboxNotSupported => "SANDBOX_NOT_SUPPORTED",
    #[doc = "The provided email address is invalid."]
    InvalidEmailAddress => "INVALID_EMAIL_ADDRESS",
    #[doc = "The provided phone number is invalid."]
    InvalidPhoneNumber => "INVALID_PHONE_NUMBER",
    #[doc = "The provided checkout URL has expired."]
    CheckoutExpired => "CHECKOUT_EXPIRED",
    #[doc = "Bad certificate."]
    BadCertificate => "BAD_CERTIFICATE",
    #[doc = "The provided Square-Version is incorrectly formatted."]
    InvalidSquareVersionFormat => "INVALID_SQUARE_VERSION_FORMAT",
    #[doc = "The provided Square-Version is incompatible with the requested action."]
    ApiVersionIncompatible => "API_VERSION_INCOMPATIBLE",
    #[doc = "The transaction requires that a card be present."]
    CardPresenceRequired => "CARD_PRESENCE_REQUIRED",
    #[doc = "The API request references an unsupported source type."]
    UnsupportedSourceType => "UNSUPPORTED_SOURCE_TYPE",
    #[doc = "The provided card does not match what is expected."]
    CardMismatch => "CARD_MISMATCH",
    #[doc = "Generic plaid error"]
    PlaidError => "PLAID_ERROR",
    #[doc = "Plaid error - ITEM_LOGIN_REQUIRED"]
    PlaidErrorItemLoginRequired => "PLAID_ERROR_ITEM_LOGIN_REQUIRED",
    #[doc = "Plaid error - RATE_LIMIT"]
    PlaidErrorRateLimit => "PLAID_ERROR_RATE_LIMIT",
    #[doc = "The card was declined."]
    CardDeclined => "CARD_DECLINED",
    #[doc = "The CVV could not be verified."]
    VerifyCvvFailure => "VERIFY_CVV_FAILURE",
    #[doc = "The AVS could not be verified."]
    VerifyAvsFailure => "VERIFY_AVS_FAILURE",
    #[doc = "The payment card was declined with a request for the card holder to call the issuer."]
    CardDeclinedCallIssuer => "CARD_DECLINED_CALL_ISSUER",
    #[doc = "The payment card was declined with a request for additional verification."]
    CardDeclinedVerificationRequired => "CARD_DECLINED_VERIFICATION_REQUIRED",
    #[doc = "The card expiration date is either missing or incorrectly formatted."]
    BadExpiration => "BAD_EXPIRATION",
    #[doc = "The card issuer requires that the card be read using a chip reader."]
    ChipInsertionRequired => "CHIP_INSERTION_REQUIRED",
    #[doc = "The card has exhausted its available pin entry retries set by the card issuer."]
    AllowablePinTriesExceeded => "ALLOWABLE_PIN_TRIES_EXCEEDED",
    #[doc = "The card issuer declined the refund."]
    ReservationDeclined => "RESERVATION_DECLINED",
    #[doc = "The body parameter is not recognized by the requested endpoint."]
    UnknownBodyParameter => "UNKNOWN_BODY_PARAMETER",
    #[doc = "Not Found - a general error occurred."]
    NotFound => "NOT_FOUND",
    #[doc = "Square could not find the associated Apple Pay certificate."]
    ApplePaymentProcessingCertificateHashNotFound => "APPLE_PAYMENT_PROCESSING_CERTIFICATE_HASH_NOT_FOUND",
    #[doc = "Method Not Allowed - a general error occurred."]
    MethodNotAllowed => "METHOD_NOT_ALLOWED",
    #[doc = "Not Acceptable - a general error occurred."]
    NotAcceptable => "NOT_ACCEPTABLE",
    #[doc = "Request Timeout - a general error occurred."]
    RequestTimeout => "REQUEST_TIMEOUT",
    #[doc = "Conflict - a general error occurred."]
    Conflict => "CONFLICT",
    #[doc = "The target resource is no longer available and this condition is likely to be permanent."]
    Gone => "GONE",
    #[doc = "Request Entity Too Large - a general error occurred."]
    RequestEntityTooLarge => "REQUEST_ENTITY_TOO_LARGE",
    #[doc = "Unsupported Media Type - a general error occurred."]
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
    #[doc = "Unprocessable Entity - a general error occurred."]
    UnprocessableEntity => "UNPROCESSABLE_ENTITY",
    #[doc = "Rate Limited - a general error occurred."]
    RateLimited => "RATE_LIMITED",
    #[doc = "Not Implemented - a general error occurred."]
    NotImplemented => "NOT_IMPLEMENTED",
    #[doc = "Bad Gateway - a general error occurred."]
    BadGateway => "BAD_GATEWAY",
    #[doc = "Service Unavailable - a general error occurred."]
    ServiceUnavailable => "SERVICE_UNAVAILABLE",
    #[doc = "A temporary internal error occurred."]
    TemporaryError => "TEMPORARY_ERROR",
    #[doc = "Gateway Timeout - a general error occurred."]
    GatewayTimeout => "GATEWAY_TIMEOUT",
    #[doc = "`AMOUNT_TOO_LOW`: sent by Square's SDKs, not yet in the published specification."]
    AmountTooLow => "AMOUNT_TOO_LOW",
    #[doc = "`PARTIAL_PAYMENT_DELAY_CAPTURE_NOT_SUPPORTED`: sent by Square's SDKs, not yet in the published specification."]
    PartialPaymentDelayCaptureNotSupported => "PARTIAL_PAYMENT_DELAY_CAPTURE_NOT_SUPPORTED",
    #[doc = "`PLAID_ERROR_INVALID_ACCESS_TOKEN`: sent by Square's SDKs, not yet in the published specification."]
    PlaidErrorInvalidAccessToken => "PLAID_ERROR_INVALID_ACCESS_TOKEN",
    #[doc = "`PLAID_ERROR_INVALID_ACCOUNT_ID`: sent by Square's SDKs, not yet in the published specification."]
    PlaidErrorInvalidAccountId => "PLAID_ERROR_INVALID_ACCOUNT_ID",
    #[doc = "`PLAID_ERROR_NO_ACCOUNTS`: sent by Square's SDKs, not yet in the published specification."]
    PlaidErrorNoAccounts => "PLAID_ERROR_NO_ACCOUNTS",
    #[doc = "`PLAID_ERROR_ITEM_NOT_FOUND`: sent by Square's SDKs, not yet in the published specification."]
    PlaidErrorItemNotFound => "PLAID_ERROR_ITEM_NOT_FOUND",
    #[doc = "`PLAID_ERROR_INSUFFICIENT_CREDENTIALS`: sent by Square's SDKs, not yet in the published specification."]
    PlaidErrorInsufficientCredentials => "PLAID_ERROR_INSUFFICIENT_CREDENTIALS",
    #[doc = "`PLAID_ERROR_ITEM_NOT_SUPPORTED`: sent by Square's SDKs, not yet in the published specification."]
    PlaidErrorItemNotSupported => "PLAID_ERROR_ITEM_NOT_SUPPORTED",
    #[doc = "`PLAID_ERROR_PRODUCT_NOT_READY`: sent by Square's SDKs, not yet in the published specification."]
    PlaidErrorProductNotReady => "PLAID_ERROR_PRODUCT_NOT_READY",
    #[doc = "`PAYMENT_SOURCE_NOT_ENABLED_FOR_TARGET`: sent by Square's SDKs, not yet in the published specification."]
    PaymentSourceNotEnabledForTarget => "PAYMENT_SOURCE_NOT_ENABLED_FOR_TARGET",
    #[doc = "`CART_INELIGIBLE_FOR_EBT`: sent by Square's SDKs, not yet in the published specification."]
    CartIneligibleForEbt => "CART_INELIGIBLE_FOR_EBT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WebAssembly's table lookup reads every text as the native `match` does, and reads nothing
    /// else: not a neighbour in the sorted table, not a prefix, not another case.
    macro_rules! table_matches_match {
        ($name:ident) => {
            for known in $name::KNOWN {
                let text = known.as_str();
                assert_eq!($name::from_text_by_table(text).as_ref(), Some(known), "{text}");
                assert_eq!($name::from_text(text).as_ref(), Some(known), "{text}");
                for near in [&text[..text.len() - 1], &text.to_lowercase(), &format!("{text}_"), &format!("A{text}")] {
                    assert_eq!($name::from_text_by_table(near), $name::from_text(near), "{near}");
                }
            }
            assert_eq!($name::from_text_by_table(""), None);
            assert_eq!($name::from_text_by_table("NEW_VALUE"), None);
        };
    }

    #[test]
    fn the_table_reads_texts_as_the_match_does() {
        table_matches_match!(Scope);
        table_matches_match!(ErrorCategory);
        table_matches_match!(ErrorCode);
    }
}
