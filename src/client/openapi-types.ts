// Generated from the service's OpenAPI document by `npm run client:types`
// (openapi-typescript). Do not edit: test/openapi/client-types.test.ts fails
// when this file and the document differ.

export type paths = {
    "/health/live": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The process is up */
        get: operations["getLiveness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Postgres, S3 and (when on) the malware scanner are reachable */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/dialogs/{dialogId}/access-log": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Who read the attachments of a dialog (read audit), newest first */
        get: operations["getAccessLog"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/dialogs/{dialogId}/attachments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The attachments of one message, oldest first */
        get: operations["listMessageAttachments"];
        put?: never;
        /**
         * Upload-stage one file
         * @description multipart/form-data: an `ownerId` field (or query parameter), optionally `uploadedBy`, then exactly one file part named `file`. The file streams to storage as it arrives; the row is UPLOADED until linked.
         */
        post: operations["uploadStage"];
        /** Erase every attachment of a dialog, and any object stored under the dialog without a row */
        delete: operations["deleteDialogAttachments"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/dialogs/{dialogId}/attachments/{attachmentId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Metadata of one attachment */
        get: operations["getAttachment"];
        put?: never;
        post?: never;
        /** Delete one attachment: its object, then its row. A retry after success is 404. */
        delete: operations["deleteAttachment"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/dialogs/{dialogId}/attachments/link": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Link staged attachments to a message (all or nothing; idempotent) */
        post: operations["linkAttachments"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/dialogs/{dialogId}/revocations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Refuse browser tokens of a dialog issued before a time: its dialog link tokens, and the owner tokens of `sub` when given */
        post: operations["revokeTokens"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/attachments/{dialogId}/{attachmentId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The bytes of an attachment (user token: header, cookie or ?token=)
         * @description Conditional (ETag, Last-Modified) and single-range requests are answered from the stored row. Everything that is not a readable attachment (unknown, another dialog, no access) is the same 404.
         */
        get: operations["downloadAttachment"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/attachments/{dialogId}/{attachmentId}/preview/{size}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A preview of an image attachment, fitting in size x size (user token: header, cookie or ?token=)
         * @description size: one of 320, 1280 (PREVIEW_SIZES). WebP, or JPEG/PNG for a client whose Accept admits no WebP. 404 ATT_NO_PREVIEW for an attachment without previews; 503 with Retry-After while one is being made or the image pool is full.
         */
        get: operations["downloadPreview"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
};
export type webhooks = Record<string, never>;
export type components = {
    schemas: {
        /**
         * AccessEvent
         * @description One read of an attachment (or a run of 304s)
         */
        AccessEvent: {
            /** Format: date-time */
            at: string;
            /** Format: uuid */
            attachmentId: string;
            bytes: number;
            /** @description HMAC of the client address (AUDIT_IP_SALT); null when not recorded */
            clientHash: string | null;
            /** @description 1, or the number of 304s gathered in one row */
            count: number;
            /** @enum {unknown} */
            grantedBy: "owner" | "read_any" | "dialog_link";
            /** @description 200, 206, or 304 for a counted row */
            status: number;
            /** @enum {unknown} */
            tokenSource: "header" | "cookie" | "query";
            /** @description "original", or "preview:<size>:<format>" */
            variant: string;
            /** @description The token's sub, or "dlg:<dialog>" for a dialog link token */
            viewer: string;
        };
        /** AccessLogPage */
        AccessLogPage: {
            events: components["schemas"]["AccessEvent"][];
            /** @description Pass as ?cursor= for the next (older) page; null on the last page */
            nextCursor: string | null;
        };
        /**
         * Attachment
         * @description A staged (UPLOADED) or linked (LINKED) attachment
         */
        Attachment: {
            /** @description Detected from the bytes; the type the file is served with */
            contentType: string;
            /** Format: date-time */
            createdAt: string;
            declaredContentType: string | null;
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            dialogId: string;
            /** @description Strong entity tag of the bytes */
            etag: string;
            fileName: string;
            /**
             * Format: uuid
             * @description Attachment id (UUID)
             */
            id: string;
            image: {
                /** @description An animated GIF, WebP or APNG */
                animated: boolean;
                height: number | null;
                placeholder: string | null;
                previews: {
                    reason: string | null;
                    /** @description The sizes that can be asked for (empty for none/failed) */
                    sizes: number[];
                    /** @enum {unknown} */
                    state: "pending" | "ready" | "none" | "failed";
                    /** @description Browser URL of each size, relative to the service */
                    urls: {
                        [key: string]: string;
                    };
                };
                width: number | null;
            } | null;
            /** Format: date-time */
            lastModified: string;
            linkedAt: string | null;
            messageId: string | null;
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            ownerId: string;
            sha256: string;
            size: number;
            /** @enum {unknown} */
            status: "UPLOADED" | "LINKED";
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            uploadedBy: string;
            /** @description Browser URL of the bytes, relative to the service */
            url: string;
        };
        /** DialogErased */
        DialogErased: {
            /** @description How many attachments were deleted */
            deleted: number;
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            dialogId: string;
        };
        /**
         * Error
         * @description Every error answer has this shape
         */
        Error: {
            /** @description Stable machine-readable code, e.g. ATT_NOT_FOUND (README "Errors") */
            code: string;
            /** @description The HTTP reason phrase */
            error: string;
            /** @description For people; server errors carry no details */
            message: string;
            statusCode: number;
        };
        /** LinkRequest */
        LinkRequest: {
            attachmentIds: string[];
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            messageId: string;
        };
        /** Liveness */
        Liveness: {
            /** @enum {string} */
            status: "ok";
        };
        /**
         * MessageAttachments
         * @description The attachments of one message, oldest first
         */
        MessageAttachments: {
            attachments: components["schemas"]["Attachment"][];
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            messageId: string;
        };
        /**
         * Readiness
         * @description Each dependency's check; 503 when one fails
         */
        Readiness: {
            checks: {
                postgres: {
                    error?: string;
                    latencyMs: number;
                    ok: boolean;
                };
                s3: {
                    error?: string;
                    latencyMs: number;
                    ok: boolean;
                };
                scanner?: {
                    error?: string;
                    latencyMs: number;
                    ok: boolean;
                };
            };
            /** @enum {unknown} */
            status: "ok" | "unavailable";
        };
        /** Revocation */
        Revocation: {
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            dialogId: string;
            /** Format: date-time */
            issuedBefore: string;
            sub: string | null;
        };
        /** RevocationRequest */
        RevocationRequest: {
            /**
             * Format: date-time
             * @description Tokens whose iat is before this are refused
             */
            issuedBefore: string;
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            sub?: string;
        };
        /**
         * UploadForm
         * @description multipart/form-data: `ownerId` (here or as a query parameter), optionally `uploadedBy` (defaults to ownerId), then exactly one file part named `file`, last
         */
        UploadForm: {
            /**
             * Format: binary
             * @description The file; its part's filename is kept (sanitised) as fileName
             */
            file: string;
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            ownerId?: string;
            /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
            uploadedBy?: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
};
export type $defs = Record<string, never>;
export interface operations {
    getLiveness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Up */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Liveness"];
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            /** @description A dependency is failing; the check says which */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
        };
    };
    getAccessLog: {
        parameters: {
            query: {
                cursor?: string;
                limit: number;
                since?: string;
                until?: string;
            };
            header?: never;
            path: {
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of reads, newest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccessLogPage"];
                };
            };
            /** @description The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No token, or a bad or expired one (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The token lacks the attachments:write scope (ATT_FORBIDDEN) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listMessageAttachments: {
        parameters: {
            query: {
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                messageId: string;
            };
            header?: never;
            path: {
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The attachments (none: an empty list) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageAttachments"];
                };
            };
            /** @description The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No token, or a bad or expired one (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The token lacks the attachments:write scope (ATT_FORBIDDEN) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    uploadStage: {
        parameters: {
            query?: {
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                ownerId?: string;
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                uploadedBy?: string;
            };
            header?: never;
            path: {
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": components["schemas"]["UploadForm"];
            };
        };
        responses: {
            /** @description Staged */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Attachment"];
                };
            };
            /** @description The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No token, or a bad or expired one (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The token lacks the attachments:write scope (ATT_FORBIDDEN) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The file exceeds ATTACHMENT_MAX_BYTES (ATT_FILE_TOO_LARGE) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not multipart/form-data (ATT_NOT_MULTIPART), or a file type that is not allowed (ATT_TYPE_NOT_ALLOWED) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Malware found (ATT_INFECTED), or metadata that cannot be checked for location data (ATT_METADATA_UNSTRIPPABLE) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteDialogAttachments: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Erased */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DialogErased"];
                };
            };
            /** @description The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No token, or a bad or expired one (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The token lacks the attachments:write scope (ATT_FORBIDDEN) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getAttachment: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Attachment id (UUID) */
                attachmentId: string;
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The attachment */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Attachment"];
                };
            };
            /** @description The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No token, or a bad or expired one (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The token lacks the attachments:write scope (ATT_FORBIDDEN) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such attachment in this dialog (ATT_NOT_FOUND) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteAttachment: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Attachment id (UUID) */
                attachmentId: string;
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No token, or a bad or expired one (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The token lacks the attachments:write scope (ATT_FORBIDDEN) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such attachment in this dialog (ATT_NOT_FOUND) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    linkAttachments: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LinkRequest"];
            };
        };
        responses: {
            /** @description Linked, in request order */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageAttachments"];
                };
            };
            /** @description The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No token, or a bad or expired one (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The token lacks the attachments:write scope (ATT_FORBIDDEN) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such attachment in this dialog (ATT_NOT_FOUND) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An attachment is linked to another message or being deleted (ATT_LINK_CONFLICT) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    revokeTokens: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An id of the main chat app: 1-128 of A-Z a-z 0-9 _ - */
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RevocationRequest"];
            };
        };
        responses: {
            /** @description Recorded */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Revocation"];
                };
            };
            /** @description The request is invalid (ATT_VALIDATION, ATT_BAD_UPLOAD, ATT_EMPTY_FILE) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No token, or a bad or expired one (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The token lacks the attachments:write scope (ATT_FORBIDDEN) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing; retry after Retry-After (ATT_BUSY, ATT_UNAVAILABLE, ATT_SCANNER_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    downloadAttachment: {
        parameters: {
            query?: {
                /** @description "1" forces Content-Disposition: attachment */
                download?: unknown;
            };
            header?: never;
            path: {
                attachmentId: string;
                dialogId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The bytes, with the detected type; inline for safe images, else as an attachment */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            /** @description The requested range */
            206: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            /** @description Not modified (If-None-Match / If-Modified-Since) */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No token, or one that is not acceptable (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not a readable attachment (ATT_NOT_FOUND), whatever the reason */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description If-Match or If-Unmodified-Since failed (ATT_PRECONDITION_FAILED) */
            412: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The range is not satisfiable (ATT_RANGE_NOT_SATISFIABLE) */
            416: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limited or too many downloads at once (ATT_RATE_LIMITED, ATT_TOO_MANY_DOWNLOADS) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing (ATT_BUSY, ATT_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    downloadPreview: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                attachmentId: string;
                dialogId: string;
                size: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The bytes, with the detected type; inline for safe images, else as an attachment */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            /** @description The requested range */
            206: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            /** @description Not modified (If-None-Match / If-Modified-Since) */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No token, or one that is not acceptable (ATT_UNAUTHORIZED) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not a readable attachment (ATT_NOT_FOUND), whatever the reason */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description If-Match or If-Unmodified-Since failed (ATT_PRECONDITION_FAILED) */
            412: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The range is not satisfiable (ATT_RANGE_NOT_SATISFIABLE) */
            416: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limited or too many downloads at once (ATT_RATE_LIMITED, ATT_TOO_MANY_DOWNLOADS) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Busy or a dependency is failing (ATT_BUSY, ATT_UNAVAILABLE) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
