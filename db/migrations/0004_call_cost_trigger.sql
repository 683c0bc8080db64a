-- 0004: every path that writes a call (webhook, Retell sync, HighLevel sync) gets its cost from
-- billing_call_cost(), the one billing rule, whenever what the cost depends on changes.
-- Adoption-safe: the function and trigger are ours, replaced if there; existing rows untouched.
CREATE OR REPLACE FUNCTION calls_apply_billing() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT'
        OR NEW.cost IS NULL
        OR NEW.duration_seconds IS DISTINCT FROM OLD.duration_seconds
        OR NEW.call_type IS DISTINCT FROM OLD.call_type
        OR NEW.direction IS DISTINCT FROM OLD.direction
        OR NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        NEW.cost := billing_call_cost(NEW.user_id, NEW.call_type, NEW.direction, NEW.duration_seconds);
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER calls_billing BEFORE INSERT OR UPDATE ON calls
    FOR EACH ROW EXECUTE FUNCTION calls_apply_billing();
