-- Reserved for issue 9 work; replaced before landing.
SELECT 1;
