//! The OAuth permissions Square knows, copied from the 2025-08-20 specification
//! (`components.securitySchemes.oauth2.flows.authorizationCode.scopes`), with the
//! "HTTP Method" preamble and markdown dropped so the consent page can show them as text.

/// Every scope name with its description, in the specification's order.
pub(crate) const SCOPES: &[(&str, &str)] = &[
    (
        "ADDON_CONFIGURATIONS_READ",
        "Grants write access for third-party Add-ons to read configurations of their Add-ons, for example, when calling RetrieveConfiguration endpoint.",
    ),
    (
        "ADDON_CONFIGURATIONS_WRITE",
        "Grants write access for third-party Add-ons to store configurations of their Add-ons, for example, when calling CreateConfiguration endpoint.",
    ),
    (
        "APPOINTMENTS_ALL_READ",
        "Grants read access to all of a seller's booking information, calendar, and business details. This permission must be accompanied by the APPOINTMENTS_READ permission.",
    ),
    (
        "APPOINTMENTS_ALL_WRITE",
        "Grants write access to all booking details, including double-booking a seller. This permission must be accompanied by the APPOINTMENTS_WRITE permission.",
    ),
    (
        "APPOINTMENTS_BUSINESS_SETTINGS_READ",
        "Grants read access to booking business settings. For example, to call the ListTeamMemberBookingProfiles endpoint.",
    ),
    (
        "APPOINTMENTS_READ",
        "Grants read access to booking information. For example, to call the RetrieveBooking endpoint.",
    ),
    (
        "APPOINTMENTS_WRITE",
        "Grants write access to booking information. For example, to call the CreateBooking endpoint.",
    ),
    (
        "BANK_ACCOUNTS_READ",
        "Grants read access to bank account information associated with the targeted Square account. For example, to call the Connect v1 ListBankAccounts endpoint.",
    ),
    (
        "CASH_DRAWER_READ",
        "Grants read access to cash drawer shift information. For example, to call the ListCashDrawerShifts endpoint.",
    ),
    (
        "CHANNELS_CREATE",
        "Grants write access to create channels, for example, when calling the CreateChannel endpoint.",
    ),
    ("CHANNELS_READ", "Grants read access to view channels, for example, when calling the RetrieveChannel endpoint."),
    (
        "CHANNELS_UPDATE",
        "Grants write access to update channels, for example, when calling the UpdateChannel endpoint.",
    ),
    ("CUSTOMERS_READ", "Grants read access to customer information. For example, to call the ListCustomers endpoint."),
    (
        "CUSTOMERS_WRITE",
        "Grants write access to customer information. For example, to create and update customer profiles.",
    ),
    (
        "DEVICES_READ",
        "Grants read access to device information. For example, to call the GetDevice and ListDevices endpoints.",
    ),
    (
        "DEVICE_CREDENTIAL_MANAGEMENT",
        "Grants read/write access to device credentials information. For example, to call the CreateDeviceCode endpoint.",
    ),
    (
        "DISCOUNT_CODES_READ",
        "Grants read access to Discount Codes API. For example, to call the RetrieveDiscountCode and RetrieveRedemption endpoints.",
    ),
    ("DISCOUNT_CODES_WRITE", "Grants write access to Discount Codes API."),
    ("DISPUTES_READ", "Grants read access to dispute information. For example, to call the RetrieveDispute endpoint."),
    ("DISPUTES_WRITE", "Grants write access to dispute information. For example, to call the SubmitEvidence endpoint."),
    (
        "EMPLOYEES_READ",
        "Grants read access to employee profile information. For example, to call the Connect v1 Employees API.",
    ),
    (
        "EMPLOYEES_WRITE",
        "Grants write access to employee profile information. For example, to create and modify employee profiles.",
    ),
    (
        "GIFTCARDS_READ",
        "Grants read access to gift card information. For example, to call the RetrieveGiftCard endpoint.",
    ),
    (
        "GIFTCARDS_WRITE",
        "Grants write access to gift card information. For example, to call the CreateGiftCard endpoint.",
    ),
    (
        "INVENTORY_READ",
        "Grants read access to inventory information. For example, to call the RetrieveInventoryCount endpoint.",
    ),
    (
        "INVENTORY_WRITE",
        "Grants write access to inventory information. For example, to call the BatchChangeInventory endpoint.",
    ),
    ("INVOICES_READ", "Grants read access to invoice information. For example, to call the ListInvoices endpoint."),
    ("INVOICES_WRITE", "Grants write access to invoice information. For example, to call the CreateInvoice endpoint."),
    (
        "ITEMS_READ",
        "Grants read access to product catalog information. For example, to obtain objects in a product catalog.",
    ),
    (
        "ITEMS_WRITE",
        "Grants write access to product catalog information. For example, to modify or add to a product catalog.",
    ),
    (
        "LOYALTY_READ",
        "Grants read access to loyalty information. For example, to call the ListLoyaltyPrograms endpoint.",
    ),
    (
        "LOYALTY_WRITE",
        "Grants write access to loyalty information. For example, to call the CreateLoyaltyAccount endpoint.",
    ),
    (
        "MERCHANT_PROFILE_READ",
        "Grants read access to business and location information. For example, to obtain a location ID for subsequent activity.",
    ),
    (
        "MERCHANT_PROFILE_WRITE",
        "Grants write access to business and location information. For example, to create a new location or update the business hours at an existing location.",
    ),
    ("ONLINE_STORE_SITE_READ", "Read access to ECOM online store site details."),
    ("ONLINE_STORE_SNIPPETS_READ", "Read access to ECOM online store snippets on published websites."),
    ("ONLINE_STORE_SNIPPETS_WRITE", "Write access to ECOM online store snippets on published websites."),
    ("ORDERS_READ", "Grants read access to order information. For example, to call the BatchRetrieveOrders endpoint."),
    ("ORDERS_WRITE", "Grants write access to order information. For example, to call the CreateCheckout endpoint."),
    (
        "PAYMENTS_READ",
        "Grants read access to transaction and refund information. For example, to call the RetrieveTransaction endpoint.",
    ),
    (
        "PAYMENTS_WRITE",
        "Grants write access to transaction and refunds information. For example, to process payments with the Payments or Checkout API.",
    ),
    (
        "PAYMENTS_WRITE_ADDITIONAL_RECIPIENTS",
        "Allow third party applications to deduct a portion of each transaction amount. Required to use multiparty transaction functionality with the Payments API.",
    ),
    (
        "PAYMENTS_WRITE_IN_PERSON",
        "Grants write access to payments and refunds information. For example, to process in-person payments.",
    ),
    (
        "PAYMENTS_WRITE_SHARED_ONFILE",
        "Allows the developer to process payments on behalf of a seller using a shared on file payment method.",
    ),
    (
        "PAYOUTS_READ",
        "Grants read access to payouts and payout entries information. For example, to call the Connect v2 ListPayouts endpoint.",
    ),
    (
        "PERMISSION_SETS_READ",
        "Grants read access to Permission Sets. For example, to call the ListPermissionSets and RetrievePermissionSet endpoints.",
    ),
    ("PERMISSION_SETS_WRITE", "Grants write access to Permission Sets."),
    (
        "RESERVATIONS_READ",
        "Grants read access to reservation information, for example, when calling the RetrieveReservation endpoint.",
    ),
    (
        "RESERVATIONS_WRITE",
        "Grants write access to reservation information, for example, when calling the CreateReservation endpoint.",
    ),
    (
        "RESTAURANT_CHECKS_READ",
        "Grants read access to check information, for example, when calling the RetrieveCheck endpoint.",
    ),
    (
        "SETTLEMENTS_READ",
        "Grants read access to settlement (deposit) information. For example, to call the Connect v1 ListSettlements endpoint.",
    ),
    (
        "SUBSCRIPTIONS_READ",
        "Grants read access to subscription information. For example, to call the RetrieveSubscription endpoint.",
    ),
    (
        "SUBSCRIPTIONS_WRITE",
        "Grants write access to subscription information. For example, to call the CreateSubscription endpoint.",
    ),
    (
        "TIMECARDS_READ",
        "Grants read access to employee timecard information. For example, to call the Connect v2 SearchShifts endpoint.",
    ),
    (
        "TIMECARDS_SETTINGS_READ",
        "Grants read access to employee timecard settings information. For example, to call the GetBreakType endpoint.",
    ),
    (
        "TIMECARDS_SETTINGS_WRITE",
        "Grants write access to employee timecard settings information. For example, to call the UpdateBreakType endpoint.",
    ),
    (
        "TIMECARDS_WRITE",
        "Grants write access to employee shift information. For example, to create and modify employee shifts.",
    ),
    ("VENDOR_READ", "Grants read access to vendor information, for example, when calling the RetrieveVendor endpoint."),
    (
        "VENDOR_WRITE",
        "Grants write access to vendor information, for example, when calling the BulkUpdateVendors endpoint.",
    ),
];

/// Square's default when the authorize URL has no `scope`.
pub(crate) const DEFAULT_SCOPES: &[&str] =
    &["MERCHANT_PROFILE_READ", "PAYMENTS_READ", "SETTLEMENTS_READ", "BANK_ACCOUNTS_READ"];

/// Whether Square knows this scope.
pub(crate) fn is_known(scope: &str) -> bool {
    SCOPES.iter().any(|(name, _)| *name == scope)
}

/// The human description of a known scope.
pub(crate) fn describe(scope: &str) -> &'static str {
    SCOPES.iter().find(|(name, _)| *name == scope).map_or("", |(_, d)| d)
}
