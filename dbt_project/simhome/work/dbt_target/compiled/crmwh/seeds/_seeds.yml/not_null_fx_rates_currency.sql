
    
    



select currency
from "crm"."staging"."fx_rates"
where currency is null


